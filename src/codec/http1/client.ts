/**
 * Client (upstream) side of the HTTP/1.1 codec: one request at a time per connection (no pipelining);
 * the pool opens more connections for concurrency.
 *
 * 1xx interim responses other than 101 (100 Continue, 103 Early Hints) are consumed here and not
 * forwarded: the server side answers `Expect: 100-continue` itself when the body is wanted.
 */
import { ProxyError } from "../../core/mod.ts";
import type {
  ClientConnection,
  ClientConnectionHandler,
  ClientStream,
  CodecOptions,
  ConnectionIO,
  HeaderMap,
  RequestHead,
  ResponseReceiver,
} from "../types.ts";
import { headerCountLimit, headLimit } from "./_options.ts";
import { info, parseResponseHead, parseTrailers } from "./_parse.ts";
import { EMPTY, MessageReader, type ReaderOwner, S_RAW } from "./_reader.ts";
import { seen, writeFields, Writer } from "./_writer.ts";
import { Http1RequestHead } from "./head.ts";
import { stripHopByHop } from "./_hop_by_hop.ts";

const Q_NONE = 0, Q_LENGTH = 1, Q_CHUNKED = 2, Q_TUNNEL = 3;

/** RFC 9110 §9.2.2: methods whose repetition has the same effect as one request. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
const HTTP11 = new TextEncoder().encode(" HTTP/1.1\r\n");
const resolved: Promise<void> = Promise.resolve();

export class Http1ClientStream implements ClientStream {
  readonly id: number;
  #conn: Http1ClientConnection;

  constructor(conn: Http1ClientConnection, id: number) {
    this.#conn = conn;
    this.id = id;
  }

  sendRequest(head: RequestHead, endStream: boolean): Promise<void> {
    return this.#conn._sendRequest(this, head, endStream);
  }
  sendData(chunk: Uint8Array, endStream: boolean): Promise<void> {
    return this.#conn._sendData(this, chunk, endStream);
  }
  sendTrailers(trailers: HeaderMap): Promise<void> {
    return this.#conn._sendTrailers(this, trailers);
  }
  reset(error: ProxyError): void {
    this.#conn._reset(this, error);
  }
}

export class Http1ClientConnection implements ClientConnection, ReaderOwner {
  #io: ConnectionIO;
  #handler: ClientConnectionHandler;
  #reader: MessageReader;
  #w: Writer;
  #maxHeaders: number;
  #nextId = 1;
  #closed = false;
  #noReuse = false;

  #stream: Http1ClientStream | null = null;
  #receiver: ResponseReceiver | null = null;
  #reqStarted = false;
  #reqDone = false;
  #reqHead = false;
  #reqUpgrade = false;
  /** The request is a CONNECT: a 2xx makes the connection its tunnel. */
  #reqConnect = false;
  #reqIdempotent = false;
  /** `io.bytesSubmitted` when the current stream began: its bytes are those written after it. */
  #reqMark: number | undefined;
  #framing = Q_NONE;
  #resStarted = false;
  #resDone = false;
  #tunnel = false;

  constructor(io: ConnectionIO, handler: ClientConnectionHandler, options: CodecOptions) {
    this.#io = io;
    this.#handler = handler;
    this.#reader = new MessageReader(this, headLimit(options));
    this.#w = new Writer(io);
    this.#maxHeaders = headerCountLimit(options);
  }

  get activeStreams(): number {
    return this.#stream === null ? 0 : 1;
  }

  get reusable(): boolean {
    return !this.#closed && !this.#noReuse;
  }

  get streamCapacity(): number {
    return this.#stream === null && this.reusable ? 1 : 0;
  }

  newStream(receiver: ResponseReceiver): ClientStream {
    if (this.#stream !== null) {
      throw new ProxyError(
        "overflow",
        "internal",
        "Cannot open a second stream on a busy HTTP/1 connection",
        {
          retryable: true,
        },
      );
    }
    if (!this.reusable) {
      throw new ProxyError(
        "upstream_reset",
        "upstream",
        "Cannot open a stream on an unusable HTTP/1 connection",
        {
          retryable: true,
        },
      );
    }
    const s = new Http1ClientStream(this, this.#nextId++);
    this.#stream = s;
    this.#receiver = receiver;
    this.#reqStarted = false;
    this.#reqDone = false;
    this.#reqHead = false;
    this.#reqUpgrade = false;
    this.#reqConnect = false;
    this.#reqIdempotent = false;
    this.#reqMark = this.#io.bytesSubmitted;
    this.#framing = Q_NONE;
    this.#resStarted = false;
    this.#resDone = false;
    return s;
  }

  feed(data: Uint8Array): void | Promise<void> {
    if (this.#closed) return;
    return this.#reader.feed(data);
  }

  onEof(): void {
    if (this.#closed) return;
    const r = this.#receiver;
    const active = this.#stream !== null && !this.#resDone;
    const untilClose = this.#resStarted && this.#reader.state === S_RAW;
    const err = new ProxyError(
      "upstream_reset",
      "upstream",
      "Cannot read the response: upstream closed the connection",
      { retryable: active && this.#safeToResend() },
    );
    this.#close();
    if (active && r !== null) {
      // A close-delimited body or a tunnel ends here; anything else was cut short.
      if (untilClose) void r.onData(EMPTY, true);
      else r.onReset(err);
    }
    this.#handler.onUnusable(err);
  }

  /**
   * May the current request go out again after the connection died with no response byte? When none of
   * its bytes left this host, always. Otherwise only for an idempotent request on a kept-alive
   * connection: the upstream closing an idle connection just as we reused it is the classic race, and
   * RFC 9110 §9.2.2 (like nginx) allows repeating idempotent requests; a POST may have been executed.
   */
  #safeToResend(): boolean {
    if (this.#resStarted || this.#reader.buffered > 0) return false;
    const mark = this.#reqMark;
    const written = this.#io.bytesWritten;
    if (!this.#reqStarted || (mark !== undefined && written !== undefined && written <= mark)) return true;
    return this.#reqIdempotent && this.#nextId > 2;
  }

  // === ReaderOwner ===

  beforeHead(): Promise<void> | undefined {
    return undefined;
  }

  head(b: Uint8Array, start: number, end: number): void | Promise<void> {
    if (this.#stream === null || this.#resDone) {
      this.#reader.stop();
      this.fail("protocol", "Cannot accept a response without a request");
      return;
    }
    const res = parseResponseHead(b, start, end, this.#maxHeaders);
    if (res === null) {
      this.#reader.stop();
      this.fail("protocol", info.message);
      return;
    }
    const status = res.status;
    const r = this.#receiver!;
    if (status < 200 && status !== 101) {
      this.#reader.bodyLength(0); // interim: the final response follows
      // 100 Continue is ours to answer downstream (the server codec does); 103 and others go on.
      if (status !== 100 && r.onInformational !== undefined) {
        if (info.hopByHop) stripHopByHop(res.headers, false);
        r.onInformational(res);
      }
      return;
    }
    const chunked = info.chunked;
    const contentLength = info.contentLength;
    const close = info.close;
    const keepAliveToken = info.keepAlive;
    const tunnel = status === 101 || (this.#reqConnect && status >= 200 && status < 300);
    if (info.hopByHop) stripHopByHop(res.headers, status === 101);
    if (tunnel) {
      if (status === 101 && !this.#reqUpgrade) {
        this.#reader.stop();
        this.fail("protocol", "Cannot accept 101 for a request without Upgrade");
        return;
      }
      this.#tunnel = true;
      this.#resStarted = true;
      this.#noReuse = true;
      this.#reader.raw();
      return r.onResponse(res, false);
    }
    const keepAlive = res.minorVersion >= 1 ? !close : keepAliveToken && !close;
    if (!keepAlive) this.#noReuse = true;
    let endStream = false;
    if (this.#reqHead || status === 204 || status === 304) {
      this.#reader.bodyLength(0);
      endStream = true;
    } else if (chunked) {
      this.#reader.bodyChunked();
    } else if (contentLength >= 0) {
      this.#reader.bodyLength(contentLength);
      endStream = contentLength === 0;
    } else {
      this.#reader.raw();
      this.#noReuse = true;
    }
    this.#resStarted = true;
    const p = r.onResponse(res, endStream);
    if (endStream) this.#responseEnded();
    return p;
  }

  data(chunk: Uint8Array, endStream: boolean): void | Promise<void> {
    const r = this.#receiver;
    if (r === null || this.#closed) return;
    if (this.#tunnel) return r.onData(chunk, false);
    const p = r.onData(chunk, endStream);
    if (endStream) this.#responseEnded();
    return p;
  }

  trailers(b: Uint8Array, start: number, end: number): void | Promise<void> {
    const t = parseTrailers(b, start, end, this.#maxHeaders);
    if (t === null) {
      this.#reader.stop();
      this.fail("protocol", info.message);
      return;
    }
    const r = this.#receiver;
    if (r === null || this.#closed) return;
    const p = r.onTrailers(t);
    this.#responseEnded();
    return p;
  }

  fail(_kind: "header_too_large" | "protocol", message: string): void {
    if (this.#closed) return;
    const err = new ProxyError("upstream_protocol_error", "upstream", message);
    const r = this.#stream !== null && !this.#resDone ? this.#receiver : null;
    this.#close();
    if (r !== null) r.onReset(err);
    this.#handler.onUnusable(err);
  }

  #responseEnded(): void {
    this.#resDone = true;
    if (!this.#reqDone) this.#noReuse = true;
    this.#stream = null;
    this.#receiver = null;
    if (this.#noReuse) {
      // Connection: close / HTTP/1.0 / unfinished request: the connection is done.
      this.#close();
      this.#handler.onUnusable(
        new ProxyError("upstream_reset", "upstream", "Connection not reusable after response"),
      );
    }
  }

  #close(): void {
    this.#closed = true;
    this.#noReuse = true;
    this.#reader.stop();
    this.#io.close();
  }

  // === stream operations (called by Http1ClientStream) ===

  /** @internal */
  _sendRequest(stream: ClientStream, head: RequestHead, endStream: boolean): Promise<void> {
    if (stream !== this.#stream || this.#closed) return resolved;
    if (this.#reqStarted) {
      return Promise.reject(new ProxyError("internal", "internal", "Cannot send a second request head"));
    }
    this.#reqStarted = true;
    const w = this.#w;
    const method = head.method;
    const path = head.path === "" ? (method === "CONNECT" ? head.host : "/") : head.path;
    w.ensure(method.length + path.length + head.query.length + HTTP11.length + 1);
    w.str(method);
    w.byte(32);
    w.str(path);
    w.str(head.query);
    w.bytes(HTTP11);
    const headers = head.headers;
    if (head.host !== "" && !headers.has("host")) w.field("host", head.host);
    writeFields(w, headers, head.host);
    const upgrade = head instanceof Http1RequestHead ? head.upgrade : undefined;
    if (upgrade !== undefined) {
      w.field("connection", "upgrade");
      if (!seen.upgrade) w.field("upgrade", upgrade);
    }
    let framing: number;
    if ((upgrade !== undefined && !seen.contentLength) || method === "CONNECT") {
      framing = Q_TUNNEL; // nothing until the 101 (or CONNECT's 2xx); then raw bytes
    } else if (endStream) {
      framing = Q_NONE;
      if (!seen.contentLength && (method === "POST" || method === "PUT" || method === "PATCH")) {
        w.field("content-length", "0");
      }
    } else if (seen.contentLength) {
      framing = Q_LENGTH;
    } else {
      framing = Q_CHUNKED;
      w.field("transfer-encoding", "chunked");
    }
    w.ensure(2);
    w.crlf();
    this.#framing = framing;
    this.#reqHead = method === "HEAD";
    this.#reqIdempotent = IDEMPOTENT.has(method);
    this.#reqUpgrade = upgrade !== undefined;
    this.#reqConnect = method === "CONNECT";
    if (endStream) {
      this.#reqDone = true;
      return w.flush();
    }
    return resolved; // held until the first data: head + small body in one write
  }

  /** @internal */
  _sendData(stream: ClientStream, chunk: Uint8Array, endStream: boolean): Promise<void> {
    if (this.#closed || (stream !== this.#stream && !(this.#tunnel && this.#stream === null))) {
      return resolved;
    }
    if (!this.#reqStarted) {
      return Promise.reject(
        new ProxyError("internal", "internal", "Cannot send data before the request head"),
      );
    }
    const w = this.#w;
    const n = chunk.length;
    let p: Promise<void>;
    if (this.#framing === Q_CHUNKED && !this.#tunnel) {
      if (n === 0 && !endStream) return w.chunk(chunk, false);
      p = w.chunk(chunk, endStream);
    } else if (this.#framing === Q_NONE && !this.#tunnel) {
      p = w.flush(); // no body was announced: bytes are dropped
    } else {
      p = w.raw(chunk);
    }
    if (endStream) {
      if (this.#tunnel) {
        // The downstream side of the tunnel ended: close once the bytes are out.
        const close = () => this.#close();
        p.then(close, close);
      } else {
        this.#reqDone = true;
      }
    }
    return p;
  }

  /** @internal */
  _sendTrailers(stream: ClientStream, trailers: HeaderMap): Promise<void> {
    if (stream !== this.#stream || this.#closed) return resolved;
    const w = this.#w;
    if (this.#framing === Q_CHUNKED) {
      w.ensure(3);
      w.byte(48);
      w.crlf();
      writeFields(w, trailers, "");
      w.ensure(2);
      w.crlf();
    }
    this.#reqDone = true;
    return w.flush();
  }

  /** @internal */
  _reset(stream: ClientStream, error: ProxyError): void {
    if (stream !== this.#stream || this.#closed) return;
    this.#stream = null;
    this.#receiver = null;
    this.#close();
    this.#handler.onUnusable(error);
  }
}
