export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFormat = "text" | "json";

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const encoder = new TextEncoder();

/** Structured logger writing one line per record to stderr (text or JSON lines). */
export class Logger {
  #minRank: number;
  #format: LogFormat;
  #fields: Record<string, unknown>;
  #write: (line: string) => void;

  constructor(
    options: {
      level?: LogLevel;
      format?: LogFormat;
      fields?: Record<string, unknown>;
      write?: (line: string) => void;
    } = {},
  ) {
    this.#minRank = RANK[options.level ?? "info"];
    this.#format = options.format ?? "text";
    this.#fields = options.fields ?? {};
    this.#write = options.write ?? ((line) => Deno.stderr.writeSync(encoder.encode(line)));
  }

  /** A logger that adds `fields` to every record. */
  with(fields: Record<string, unknown>): Logger {
    return new Logger({
      level: levelOfRank(this.#minRank),
      format: this.#format,
      fields: { ...this.#fields, ...fields },
      write: this.#write,
    });
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.#minRank;
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    if (RANK.debug >= this.#minRank) this.#emit("debug", msg, fields);
  }
  info(msg: string, fields?: Record<string, unknown>): void {
    if (RANK.info >= this.#minRank) this.#emit("info", msg, fields);
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    if (RANK.warn >= this.#minRank) this.#emit("warn", msg, fields);
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    if (RANK.error >= this.#minRank) this.#emit("error", msg, fields);
  }

  #emit(level: LogLevel, msg: string, fields?: Record<string, unknown>): void {
    const all = fields ? { ...this.#fields, ...fields } : this.#fields;
    const time = new Date().toISOString();
    if (this.#format === "json") {
      this.#write(JSON.stringify({ time, level, msg, ...all }) + "\n");
      return;
    }
    let line = `${time} ${level.toUpperCase().padEnd(5)} ${msg}`;
    for (const [k, v] of Object.entries(all)) {
      const s = typeof v === "string" ? v : JSON.stringify(v);
      line += ` ${k}=${/[\s"=]/.test(s) ? JSON.stringify(s) : s}`;
    }
    this.#write(line + "\n");
  }
}

function levelOfRank(rank: number): LogLevel {
  return (Object.keys(RANK) as LogLevel[]).find((l) => RANK[l] === rank) ?? "info";
}

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = new Logger({ level: "error", write: () => {} });
