import assert from "node:assert/strict";
import {
  encodeGrpcMessage,
  GRPC_DEADLINE_EXCEEDED,
  GRPC_RESOURCE_EXHAUSTED,
  GRPC_UNAVAILABLE,
  GRPC_UNIMPLEMENTED,
  grpcStatusFor,
  isGrpcContentType,
  parseGrpcTimeout,
} from "./_grpc.ts";

Deno.test("grpcStatusFor() maps local failures as the issue and Envoy do", () => {
  assert.equal(grpcStatusFor("no_healthy_upstream"), GRPC_UNAVAILABLE);
  assert.equal(grpcStatusFor("connect_failure"), GRPC_UNAVAILABLE);
  assert.equal(grpcStatusFor("timeout"), GRPC_DEADLINE_EXCEEDED);
  assert.equal(grpcStatusFor("no_route"), GRPC_UNIMPLEMENTED);
  assert.equal(grpcStatusFor("overflow"), GRPC_RESOURCE_EXHAUSTED);
});

Deno.test("isGrpcContentType() takes application/grpc, its +subtypes and parameters only", () => {
  for (
    const v of [
      "application/grpc",
      "application/grpc+proto",
      "application/grpc;charset=utf-8",
      "Application/GRPC",
    ]
  ) {
    assert.ok(isGrpcContentType(v), v);
  }
  for (
    const v of [undefined, "application/json", "application/grpc-web", "application/grpcx", "text/plain"]
  ) {
    assert.ok(!isGrpcContentType(v), String(v));
  }
});

Deno.test("parseGrpcTimeout() reads every unit, rounds up sub-millisecond values, ignores malformed ones", () => {
  assert.equal(parseGrpcTimeout("1H"), 3_600_000);
  assert.equal(parseGrpcTimeout("2M"), 120_000);
  assert.equal(parseGrpcTimeout("5S"), 5000);
  assert.equal(parseGrpcTimeout("250m"), 250);
  assert.equal(parseGrpcTimeout("1500u"), 2);
  assert.equal(parseGrpcTimeout("1n"), 1);
  assert.equal(parseGrpcTimeout("99999999m"), 99_999_999);
  for (const v of [undefined, "", "S", "123456789m", "10x", "-1S", "1.5S"]) {
    assert.equal(parseGrpcTimeout(v), undefined, String(v));
  }
});

Deno.test("encodeGrpcMessage() percent-encodes what gRPC says it must", () => {
  assert.equal(encodeGrpcMessage("no healthy upstream"), "no healthy upstream");
  assert.equal(encodeGrpcMessage("50% done\n"), "50%25 done%0A");
  assert.equal(encodeGrpcMessage("é"), "%C3%A9");
});
