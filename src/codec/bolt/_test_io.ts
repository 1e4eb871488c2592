/** Test doubles: an in-memory ConnectionIO and recording handlers/receivers for the bolt codec tests. */
import type { ProxyError } from "../../core/mod.ts";
import type {
  BodyReceiver,
  ClientConnectionHandler,
  HeaderMap,
  ResponseHead,
  ResponseReceiver,
  ServerConnectionHandler,
  ServerStream,
} from "../types.ts";

export class RecordingServerHandler implements ServerConnectionHandler, BodyReceiver {
  readonly streams: ServerStream[] = [];
  readonly protocolErrors: ProxyError[] = [];
  readonly resets: ProxyError[] = [];
  heartbeats = 0;
  refused = 0;

  onRequest(stream: ServerStream): void {
    stream.setBodyReceiver(this);
    this.streams.push(stream);
  }

  onProtocolError(error: ProxyError): void {
    this.protocolErrors.push(error);
  }

  onHeartbeat(): void {
    this.heartbeats++;
  }

  onStreamRefused(): void {
    this.refused++;
  }

  onData(_chunk: Uint8Array, _endStream: boolean): void {}
  onTrailers(_trailers: HeaderMap): void {}
  onReset(error: ProxyError): void {
    this.resets.push(error);
  }
}

export class RecordingReceiver implements ResponseReceiver {
  readonly responses: ResponseHead[] = [];
  readonly resets: ProxyError[] = [];

  onResponse(head: ResponseHead, _endStream: boolean): void {
    this.responses.push(head);
  }
  onData(_chunk: Uint8Array, _endStream: boolean): void {}
  onTrailers(_trailers: HeaderMap): void {}
  onReset(error: ProxyError): void {
    this.resets.push(error);
  }
}

export class RecordingClientHandler implements ClientConnectionHandler {
  readonly unusable: ProxyError[] = [];
  onUnusable(reason: ProxyError): void {
    this.unusable.push(reason);
  }
}

export function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export { concat } from "../_test_io.ts";

/** The captured sofa-rpc-node request, TestService.plus(1,2), id 1 (protocols.md). */
export const CAPTURED_REQUEST = hex(`
0101000101000000010100000bb8002c002e000000ef636f6d2e616c697061792e736f66612e7270632e636f72652e72
6571756573742e536f66615265717565737400000007736572766963650000001f636f6d2e6e6f64656a732e74657374
2e54657374536572766963653a312e304fbc636f6d2e616c697061792e736f66612e7270632e636f72652e7265717565
73742e536f666152657175657374950a6d6574686f644e616d650d6d6574686f64417267536967731774617267657453
657276696365556e697175654e616d650d7461726765744170704e616d650c7265717565737450726f70736f9004706c
7573567400115b6a6176612e6c616e672e537472696e676e0203696e7403696e747a1f636f6d2e6e6f64656a732e7465
73742e54657374536572766963653a312e304e4d07736572766963651f636f6d2e6e6f64656a732e746573742e546573
74536572766963653a312e307a9192`);

/** The captured response to it, appResponse 3 (protocols.md). */
export const CAPTURED_RESPONSE = hex(`
010000020100000001010000002e000000000062636f6d2e616c697061792e736f66612e7270632e636f72652e726573
706f6e73652e536f6661526573706f6e73654fbe636f6d2e616c697061792e736f66612e7270632e636f72652e726573
706f6e73652e536f6661526573706f6e7365940769734572726f72086572726f724d73670b617070526573706f6e7365
0d726573706f6e736550726f70736f90464e934e`);

/**
 * The same plus(1,2) call as a bolt v2 CRC frame (ver1 2, switch 0x01, CRC-32 b1dbc284 after the content),
 * 357 bytes, exactly as sofa-bolt-node@2.0.1 (the protocol library of sofa-rpc-node@2.10.0) encodes it
 * with protocolType "bolt2", boltVersion 2, crcEnable true; its CRC comes from the `crc` npm package.
 */
export const CAPTURED_CRC_REQUEST = hex(`
02020100010100000001010100000bb8002c002e000000ef636f6d2e616c697061792e736f66612e7270632e636f7265
2e726571756573742e536f66615265717565737400000007736572766963650000001f636f6d2e6e6f64656a732e7465
73742e54657374536572766963653a312e304fbc636f6d2e616c697061792e736f66612e7270632e636f72652e726571
756573742e536f666152657175657374950a6d6574686f644e616d650d6d6574686f6441726753696773177461726765
7453657276696365556e697175654e616d650d7461726765744170704e616d650c7265717565737450726f70736f9004
706c7573567400115b6a6176612e6c616e672e537472696e676e0203696e7403696e747a1f636f6d2e6e6f64656a732e
746573742e54657374536572766963653a312e304e4d07736572766963651f636f6d2e6e6f64656a732e746573742e54
657374536572766963653a312e307a9192b1dbc284`);

/** A v2 CRC heartbeat from the same encoder (id 7, timeout 3000), CRC-32 87629fc5. */
export const CAPTURED_CRC_HEARTBEAT = hex("02020100000100000007010100000bb8000000000000000087629fc5");
