/** The gRPC peers talk to each other directly: every call kind, deadlines, statuses, metadata, trailers. */
import { assert, assertEquals } from "../_assert.ts";
import {
  grpcClient,
  type GrpcClientPeer,
  type GrpcServerPeer,
  patternPayload,
  startGrpcServer,
  Status,
} from "./grpc_peers.ts";

async function withPeers(
  fn: (server: GrpcServerPeer, client: GrpcClientPeer) => Promise<void>,
): Promise<void> {
  const server = await startGrpcServer({ name: "echo-1" });
  const client = grpcClient(server.address);
  try {
    await fn(server, client);
  } finally {
    client.close();
    await server.stop();
  }
}

Deno.test("grpc Say() is answered with the message, the server's name and the metadata it saw", async () => {
  await withPeers(async (server, client) => {
    const r = await client.say("hello", { metadata: { "x-tenant": "gold" } });
    assertEquals(r.status.code, Status.OK);
    assertEquals(r.value?.message, "hello");
    assertEquals(r.value?.server, "echo-1");
    assertEquals(r.value?.metadata["x-tenant"], "gold");
    assertEquals(r.headers["x-served-by"], "echo-1");
    assertEquals(server.callsOf("Say"), 1);
    assertEquals(server.metadata[0]?.["x-tenant"], "gold");
  });
});

Deno.test("grpc Count() streams n replies, then OK or the chosen status", async () => {
  await withPeers(async (_server, client) => {
    const ok = await client.count(5, { intervalMs: 1 });
    assertEquals(ok.status.code, Status.OK);
    assertEquals(ok.values.map((v) => v.index), [0, 1, 2, 3, 4]);

    const failed = await client.count(3, { failCode: Status.UNAVAILABLE });
    assertEquals(failed.status.code, Status.UNAVAILABLE);
    assertEquals(failed.status.details, "failed after 3 replies");
    // grpc-js surfaces an error status at once and drops replies still being decoded: a prefix arrives.
    assertEquals(failed.values.map((v) => v.index), [0, 1, 2].slice(0, failed.values.length));
  });
});

Deno.test("grpc Sum() adds every value the client streamed", async () => {
  await withPeers(async (_server, client) => {
    const r = await client.sum([1, 2, 3, 4, -5]);
    assertEquals(r.status.code, Status.OK);
    assertEquals(r.value, { sum: 5, count: 5 });
  });
});

Deno.test("grpc Chat() echoes each message before the next is sent", async () => {
  await withPeers(async (_server, client) => {
    const r = await client.chat(["a", "b", "c"]);
    assertEquals(r.status.code, Status.OK);
    assertEquals(r.values, [{ text: "a", seq: 1 }, { text: "b", seq: 2 }, { text: "c", seq: 3 }]);
  });
});

Deno.test("grpc Fail() ends with the chosen status, message and trailing metadata", async () => {
  await withPeers(async (_server, client) => {
    for (const code of [Status.NOT_FOUND, Status.PERMISSION_DENIED, Status.UNAVAILABLE, Status.INTERNAL]) {
      const r = await client.fail(code, `failed with ${code}`, { "x-why": "asked" });
      assertEquals(r.status.code, code);
      assertEquals(r.status.details, `failed with ${code}`);
      assertEquals(r.status.trailers["x-why"], "asked");
      assertEquals(r.value, undefined);
    }
  });
});

Deno.test("grpc Sleep() past the deadline ends DEADLINE_EXCEEDED and the server sees the deadline", async () => {
  await withPeers(async (server, client) => {
    const r = await client.sleep(5000, { deadlineMs: 150 });
    assertEquals(r.status.code, Status.DEADLINE_EXCEEDED);
    await server.until(() => server.expired === 1, "the server to see the deadline pass");
    const left = server.deadlines[0]!;
    assert(left > 0 && left <= 150, `deadline on arrival: ${left} ms`);
    assertEquals(server.cancelled, 0);

    const inTime = await client.sleep(10, { deadlineMs: 5000 });
    assertEquals(inTime.status.code, Status.OK);
    assertEquals(inTime.value?.message, "slept 10 ms");
  });
});

Deno.test("grpc a cancelled call ends CANCELLED and the server counts the cancellation", async () => {
  await withPeers(async (server, client) => {
    const abort = new AbortController();
    const call = client.sleep(5000, { signal: abort.signal });
    await server.until(() => server.callsOf("Sleep") === 1, "the call to arrive");
    abort.abort();
    assertEquals((await call).status.code, Status.CANCELLED);
    await server.until(() => server.cancelled === 1, "the server to see the cancellation");
  });
});

Deno.test("grpc Trailers() returns custom text and binary trailing metadata", async () => {
  await withPeers(async (_server, client) => {
    const r = await client.trailers({ "x-checksum": "abc123", "x-count": "7" });
    assertEquals(r.status.code, Status.OK);
    assertEquals(r.status.trailers["x-checksum"], "abc123");
    assertEquals(r.status.trailers["x-count"], "7");
    assertEquals(r.status.trailers["x-trailer-bin"], Uint8Array.of(0, 1, 2, 255));
  });
});

Deno.test("grpc Large() carries multi-MiB messages both ways intact", async () => {
  const limits = { "grpc.max_receive_message_length": 16 << 20, "grpc.max_send_message_length": 16 << 20 };
  const server = await startGrpcServer({ serverOptions: limits });
  const client = grpcClient(server.address, { channelOptions: limits });
  try {
    const r = await client.large(3 << 20, 5 << 20);
    assertEquals(r.status.code, Status.OK);
    assertEquals(r.value?.receivedBytes, 3 << 20);
    assertEquals(r.value?.receivedIntact, true);
    const payload = r.value!.payload;
    assertEquals(payload.length, 5 << 20);
    const expected = patternPayload(5 << 20);
    assertEquals(payload.findIndex((b, i) => b !== expected[i]), -1); // byte by byte: deepEqual is slow here
    // Past the default 4 MiB receive limit of a client without the option:
    const strict = grpcClient(server.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    const tooBig = await strict.large(0, 5 << 20);
    strict.close();
    assertEquals(tooBig.status.code, Status.RESOURCE_EXHAUSTED);
  } finally {
    client.close();
    await server.stop();
  }
});

Deno.test("grpc sayMany() runs N concurrent unary calls over one connection", async () => {
  await withPeers(async (server, client) => {
    const results = await client.sayMany(100);
    assertEquals(results.map((r) => r.status.code), new Array(100).fill(Status.OK));
    assertEquals(new Set(results.map((r) => r.value?.message)).size, 100);
    assertEquals(server.callsOf("Say"), 100);
    assertEquals(server.connections, 1);
    assertEquals(client.state(), "READY");
  });
});

Deno.test("grpc clients with a local subchannel pool open their own connections", async () => {
  await withPeers(async (server, client) => {
    const other = grpcClient(server.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    try {
      await client.say("a");
      await other.say("b");
      assertEquals(server.connections, 2);
    } finally {
      other.close();
    }
  });
});
