import assert from "node:assert/strict";
import {
  ACCESS_LOG_VARIABLES,
  type AccessLogRecord,
  compileAccessLogFormat,
  DEFAULT_ACCESS_LOG_FORMAT,
  durationMs,
  isoTime,
} from "./format.ts";

const START = Date.UTC(2024, 4, 1, 10, 0, 0, 123) + 0.75;

function record(overrides: Partial<AccessLogRecord> = {}): AccessLogRecord {
  const request = new Map([["user-agent", "curl/8"], ["x-request-id", "r-1"]]);
  const response = new Map([["content-type", "text/plain"]]);
  return {
    startTime: START,
    requestReceivedMs: 0.042,
    responseReceivedMs: 0.9134,
    durationMs: 12.5,
    bytesSent: 612,
    bytesReceived: 143,
    protocol: "HTTP1",
    responseCode: 200,
    responseFlag: "-",
    downstreamLocalAddress: "127.0.0.1:2045",
    downstreamRemoteAddress: "127.0.0.1:53124",
    upstreamLocalAddress: "127.0.0.1:40112",
    upstreamHost: "127.0.0.1:8080",
    upstreamCluster: "backend",
    method: "GET",
    path: "/items?page=2",
    requestHeader: (n) => request.get(n),
    responseHeader: (n) => response.get(n),
    downstreamTls: {
      version: "TLSv1.3",
      cipher: "TLS_AES_128_GCM_SHA256",
      sni: "api.test",
      peer: { uriSans: ["spiffe://cluster.local/ns/default/sa/app"], subject: "CN=app,O=Acme" },
    },
    ...overrides,
  };
}

/** Every variable and what it renders for `record()`: a new variable needs a line here. */
const EXPECTED: Record<string, string> = {
  start_time: "2024-05-01T10:00:00.123Z",
  request_received_duration: "0.042ms",
  response_received_duration: "0.913ms",
  request_finished_duration: "12.500ms",
  duration: "12.500ms",
  bytes_sent: "612",
  bytes_received: "143",
  protocol: "HTTP1",
  response_code: "200",
  response_flag: "-",
  upstream_local_address: "127.0.0.1:40112",
  downstream_local_address: "127.0.0.1:2045",
  downstream_remote_address: "127.0.0.1:53124",
  upstream_host: "127.0.0.1:8080",
  upstream_cluster: "backend",
  request_method: "GET",
  request_path: "/items?page=2",
  trace_id: "-",
  DOWNSTREAM_TLS_VERSION: "TLSv1.3",
  DOWNSTREAM_TLS_CIPHER: "TLS_AES_128_GCM_SHA256",
  DOWNSTREAM_PEER_URI_SAN: "spiffe://cluster.local/ns/default/sa/app",
  DOWNSTREAM_PEER_SUBJECT: "CN=app,O=Acme",
  REQUESTED_SERVER_NAME: "api.test",
};

Deno.test("compileAccessLogFormat() renders every variable", () => {
  assert.deepEqual([...ACCESS_LOG_VARIABLES].sort(), Object.keys(EXPECTED).sort());
  for (const [name, expected] of Object.entries(EXPECTED)) {
    assert.equal(compileAccessLogFormat(`%${name}%`)(record()), expected, name);
  }
});

Deno.test("compileAccessLogFormat() shows '-' for an empty upstream, cluster, method and path", () => {
  const line = compileAccessLogFormat(
    "%upstream_local_address% %upstream_host% %upstream_cluster% %request_method% %request_path%",
  );
  assert.equal(
    line(record({ upstreamLocalAddress: "", upstreamHost: "", upstreamCluster: "", method: "", path: "" })),
    "- - - - -",
  );
});

Deno.test("compileAccessLogFormat() shows '-' for TLS variables on plaintext, without a client certificate or SNI", () => {
  const line = compileAccessLogFormat(
    "%DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER% %DOWNSTREAM_PEER_URI_SAN% %DOWNSTREAM_PEER_SUBJECT% %REQUESTED_SERVER_NAME%",
  );
  assert.equal(line(record({ downstreamTls: undefined })), "- - - - -");
  const anonymous = { version: "TLSv1.2", cipher: "TLS_X", sni: undefined, peer: undefined };
  assert.equal(line(record({ downstreamTls: anonymous })), "TLSv1.2 TLS_X - - -");
  const noUri = { ...anonymous, peer: { uriSans: [], subject: "CN=a" } };
  assert.equal(line(record({ downstreamTls: noUri })), "TLSv1.2 TLS_X - CN=a -");
});

Deno.test("compileAccessLogFormat() looks request_header_X and response_header_X up lower-cased", () => {
  const line = compileAccessLogFormat(
    "ua=%request_header_User-Agent% id=%request_header_x-request-id% ct=%response_header_Content-Type% none=%response_header_x-missing%",
  );
  assert.equal(line(record()), "ua=curl/8 id=r-1 ct=text/plain none=-");
});

Deno.test("compileAccessLogFormat() keeps literal text and renders the default format", () => {
  assert.equal(compileAccessLogFormat("[%protocol%] 100% done")(record()), "[HTTP1] 100% done");
  assert.equal(compileAccessLogFormat("")(record()), "");
  assert.equal(
    compileAccessLogFormat(DEFAULT_ACCESS_LOG_FORMAT)(record()),
    "2024-05-01T10:00:00.123Z 0.042ms 0.913ms 612 143 HTTP1 200 12.500ms - 200 127.0.0.1:40112 127.0.0.1:2045 127.0.0.1:53124 127.0.0.1:8080",
  );
});

Deno.test("compileAccessLogFormat() throws RangeError naming an unknown variable", () => {
  assert.throws(() => compileAccessLogFormat("%start_time% %nope%"), {
    name: "RangeError",
    message: "Cannot use unknown access log variable %nope%",
  });
  // names of Object.prototype members are not variables
  assert.throws(() => compileAccessLogFormat("%constructor%"), RangeError);
  assert.throws(() => compileAccessLogFormat("%toString%"), RangeError);
});

Deno.test("isoTime() matches toISOString() across seconds, days and years", () => {
  const samples = [
    0,
    999.9,
    1000,
    59_999,
    60_000,
    START,
    Date.UTC(1999, 11, 31, 23, 59, 59, 999),
    253402300799999,
  ];
  for (let t = START; t < START + 5000; t += 137.31) samples.push(t);
  for (const t of samples) assert.equal(isoTime(t), new Date(t).toISOString(), String(t));
  assert.equal(isoTime(-1), new Date(-1).toISOString());
  assert.equal(isoTime(253402300800000), "+010000-01-01T00:00:00.000Z");
  assert.equal(isoTime(NaN), "-");
  assert.equal(isoTime(Infinity), "-");
  assert.equal(isoTime(9e15), "-");
});

Deno.test("durationMs() matches toFixed(3) with an ms unit", () => {
  for (const ms of [0, 0.0004, 0.042, 0.9134, 1, 12.5, 999.9996, 1234.56789, 86_400_000.001]) {
    assert.equal(durationMs(ms), `${ms.toFixed(3)}ms`, String(ms));
  }
  for (let ms = 0; ms < 50; ms += 0.0173) assert.equal(durationMs(ms), `${ms.toFixed(3)}ms`, String(ms));
  for (let i = 0; i < 20_000; i++) {
    const ms = i % 2 === 0 ? i / 2000 + 0.0005 : Math.random() * 10 ** (i % 7); // ties, then any scale
    assert.equal(durationMs(ms), `${ms.toFixed(3)}ms`, String(ms));
  }
  assert.equal(durationMs(-0.25), "-0.250ms");
  assert.equal(durationMs(NaN), "NaNms");
  assert.equal(durationMs(2e9), "2000000000.000ms");
});
