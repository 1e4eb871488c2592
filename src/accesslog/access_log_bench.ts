/**
 * The per-request cost of access logging: format one line, hand it to the writer. Each iteration logs
 * LINES lines synchronously (as requests finishing in one event-loop turn do), so divide by LINES for ns
 * per line; the flush that follows is awaited outside the timed section, because a sync loop never
 * lets an async write complete.
 */
import { AccessLogWriter, compileAccessLogFormat, DEFAULT_ACCESS_LOG_FORMAT } from "./mod.ts";
import type { AccessLogRecord } from "./mod.ts";

const LINES = 1000;

const requestHeaders = new Map([["user-agent", "wrk"], ["x-request-id", "7f2c1a9e"]]);
const record: AccessLogRecord = {
  startTime: Date.now() + 0.25,
  requestReceivedMs: 0.042,
  responseReceivedMs: 0.913,
  durationMs: 1.207,
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
  path: "/api/v1/items?page=2",
  requestHeader: (n) => requestHeaders.get(n),
  responseHeader: () => undefined,
};

const defaultFormat = compileAccessLogFormat(DEFAULT_ACCESS_LOG_FORMAT);
const headerFormat = compileAccessLogFormat(
  "%start_time% %request_method% %request_path% %response_code% %duration% %request_header_user-agent% %request_header_x-request-id% %upstream_cluster%",
);
const line = defaultFormat(record);
const writer = new AccessLogWriter("/dev/null");

/** A bench that filled the buffer would be timing the drop path, not the write path. */
function checkNothingDropped(): void {
  if (writer.dropped > 0) throw new Error(`Cannot trust this bench: ${writer.dropped} lines were dropped`);
}

Deno.bench(`format (default format), ${LINES} lines`, { group: "format", baseline: true }, () => {
  for (let i = 0; i < LINES; i++) defaultFormat(record);
});

Deno.bench(`format (with request headers), ${LINES} lines`, { group: "format" }, () => {
  for (let i = 0; i < LINES; i++) headerFormat(record);
});

Deno.bench(`write() of a formatted line, ${LINES} lines`, async (b) => {
  b.start();
  for (let i = 0; i < LINES; i++) writer.write(line);
  b.end();
  await writer.flush();
  checkNothingDropped();
});

Deno.bench(`format + write(), ${LINES} lines`, async (b) => {
  b.start();
  for (let i = 0; i < LINES; i++) writer.write(defaultFormat(record));
  b.end();
  await writer.flush();
  checkNothingDropped();
});
