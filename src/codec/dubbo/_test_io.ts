/** Test frames for the dubbo codec: headers written out by hand from the layout in protocols.md. */
import { hex } from "../bolt/_test_io.ts";
import { type Invocation, invocationBody } from "./_test_hessian.ts";

export {
  concat,
  hex,
  RecordingClientHandler,
  RecordingReceiver,
  RecordingServerHandler,
  toHex,
} from "../bolt/_test_io.ts";

/** Request flags: request 0x80, two-way 0x40, event 0x20, hessian2 2. */
export const FLAG_CALL = 0xc2;
export const FLAG_ONEWAY = 0x82;
export const FLAG_HEARTBEAT = 0xe2;

/** A frame: magic, flag, status, 64-bit id, body length, body. */
export function frame(flag: number, status: number, id: bigint | number, body: Uint8Array): Uint8Array {
  const f = new Uint8Array(16 + body.length);
  const v = new DataView(f.buffer);
  f[0] = 0xda;
  f[1] = 0xbb;
  f[2] = flag;
  f[3] = status;
  v.setBigUint64(4, BigInt(id));
  v.setUint32(12, body.length);
  f.set(body, 16);
  return f;
}

/** The call dubbo2.js makes for `sayHello("world")` (protocols.md), with attachments as it writes them. */
export const HELLO: Invocation = {
  dubboVersion: "2.0.2",
  path: "com.demo.HelloService",
  version: "1.0.0",
  method: "sayHello",
  argTypes: "Ljava/lang/String;",
  args: (w) => w.string("world"),
  attachments: {
    path: "com.demo.HelloService",
    interface: "com.demo.HelloService",
    version: "1.0.0",
    group: "blue",
    timeout: 3000,
    application: "node-client",
  },
};

export function call(id: bigint | number, inv: Invocation = HELLO, flag = FLAG_CALL): Uint8Array {
  return frame(flag, 0, id, invocationBody(inv));
}

/** The provider's captured reply to id 1: status 20, RESPONSE_VALUE, "hello world" (protocols.md). */
export const CAPTURED_REPLY = hex("dabb021400000000000000010000000d910b68656c6c6f20776f726c64");

/** A reply frame to `id` with `status` and the captured body. */
export function reply(id: bigint | number, status = 20, body = CAPTURED_REPLY.subarray(16)): Uint8Array {
  return frame(0x02, status, id, body);
}

/** dubbo2.js's heartbeat request: flag 0xe2, id 0, a one-byte body (hessian2 null). */
export function heartbeat(id: bigint | number = 0, flag = FLAG_HEARTBEAT): Uint8Array {
  return frame(flag, 0, id, Uint8Array.of(0x4e));
}

/** The heartbeat answer meshctl writes: flag 0x22, status 20, the request's id, body N. */
export function heartbeatReply(id: bigint | number): Uint8Array {
  return frame(0x22, 20, id, Uint8Array.of(0x4e));
}
