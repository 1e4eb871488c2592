/**
 * The h2spec verifiers (`_h2spec_conn.ts`) judge scripted servers as h2spec would, and stricter where the
 * module says: a green h2spec_test.ts means something only if these reject what h2spec rejects.
 */
import { assert } from "./_assert.ts";
import { SpecConn, SpecFailure } from "./_h2spec_conn.ts";
import {
  dataFrame,
  ErrorCode,
  goawayFrame,
  headersFrame,
  pingFrame,
  rstStreamFrame,
  settingsFrame,
} from "./_peers/h2_raw.ts";

/**
 * A server that writes `frames` to the one connection it takes, then closes it when `close`, else holds it
 * until the client goes; `verify` runs on a SpecConn to it. Returns the verifier's failure, if any.
 */
async function judge(
  frames: Uint8Array[],
  close: boolean,
  verify: (c: SpecConn) => Promise<void>,
): Promise<SpecFailure | undefined> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    for (const f of frames) await conn.write(f);
    if (!close) await conn.read(new Uint8Array(1)).catch(() => null); // until the client closes
    conn.close();
  })();
  const c = await SpecConn.dial({ port: listener.addr.port, path: "/" });
  try {
    await verify(c);
    return undefined;
  } catch (e) {
    if (e instanceof SpecFailure) return e;
    throw e;
  } finally {
    await c.close();
    await served;
    listener.close();
  }
}

const PING_DATA = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
const response = headersFrame(1, Uint8Array.of(0x88), { endStream: true }); // :status 200

Deno.test("expectConnectionError() passes on the listed GOAWAY or a close, fails on another code even with the close", async () => {
  const pass = (frames: Uint8Array[], close: boolean) =>
    judge(frames, close, (c) => c.expectConnectionError(ErrorCode.PROTOCOL_ERROR));
  assert((await pass([response, goawayFrame(1, ErrorCode.PROTOCOL_ERROR)], false)) === undefined);
  assert((await pass([response], true)) === undefined, "a close alone is a connection error");
  const wrong = await pass([goawayFrame(0, ErrorCode.FLOW_CONTROL_ERROR)], true);
  assert(wrong?.message.includes("FLOW_CONTROL_ERROR"), "a GOAWAY naming another error passed");
  const reset = await pass([rstStreamFrame(1, ErrorCode.PROTOCOL_ERROR)], true);
  assert(reset === undefined, "frames before the close are skipped, as h2spec skips them");
});

Deno.test("expectStreamError() skips RST_STREAM NO_ERROR, passes on the listed code, fails on another", async () => {
  const verify = (c: SpecConn) => c.expectStreamError(ErrorCode.PROTOCOL_ERROR);
  const early = [response, rstStreamFrame(1, ErrorCode.NO_ERROR)];
  assert((await judge([...early, rstStreamFrame(3, ErrorCode.PROTOCOL_ERROR)], false, verify)) === undefined);
  assert((await judge([goawayFrame(1, ErrorCode.PROTOCOL_ERROR)], false, verify)) === undefined);
  assert((await judge(early, true, verify)) === undefined, "the close passes");
  const wrong = await judge([rstStreamFrame(1, ErrorCode.CANCEL)], false, verify);
  assert(wrong?.message.includes("CANCEL"), "a RST_STREAM naming another error passed");
});

Deno.test("expectPingAck() takes the first PING: an unacknowledged one or other data fails; expectPingAckOrClose() waits past them", async () => {
  const ack = pingFrame(PING_DATA, { ack: true });
  const other = pingFrame(new Uint8Array(8), { ack: true });
  assert((await judge([dataFrame(1, "x"), ack], false, (c) => c.expectPingAck(PING_DATA))) === undefined);
  assert((await judge([pingFrame(PING_DATA), ack], false, (c) => c.expectPingAck(PING_DATA))) !== undefined);
  assert((await judge([other, ack], false, (c) => c.expectPingAck(PING_DATA))) !== undefined);
  assert((await judge([other, ack], false, (c) => c.expectPingAckOrClose(PING_DATA))) === undefined);
  assert((await judge([other], true, (c) => c.expectPingAckOrClose(PING_DATA))) === undefined);
});

Deno.test("handshake() needs the server's SETTINGS and the ACK of ours; expectServerPreface() the SETTINGS first", async () => {
  const settings = settingsFrame([]);
  const ack = settingsFrame([], { ack: true });
  const r = await judge([settings, ack], false, (c) => c.handshake());
  assert(r === undefined, r?.message);
  assert((await judge([settings], true, (c) => c.handshake())) !== undefined, "no ACK, yet a handshake");
  assert((await judge([settings, ack], false, (c) => c.expectServerPreface())) === undefined);
  assert((await judge([ack, settings], false, (c) => c.expectServerPreface())) !== undefined);
});
