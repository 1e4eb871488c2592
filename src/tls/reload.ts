/**
 * Certificate files watched for change, so a rotated certificate is picked up without a SIGHUP.
 *
 * The watch is on each file's directory (and the directory of the file it resolves to), not on the file:
 * editors and certificate managers replace a file by renaming a new one over it, and a Kubernetes
 * secret volume swaps a `..data` symlink, so the watched path itself often never sees an event. Any
 * event in those directories (reads aside) starts a debounce; when it settles, every watched file is
 * read and compared with the PEM the running snapshot holds. Only a real difference calls `onChange`, so
 * a busy directory costs a few reads, never a reload.
 *
 * A difference is reported once: if the reload it causes is rejected (a broken certificate), the same
 * bytes do not trigger again; the next different bytes do. A file that is missing (a rename in flight,
 * or a removal) is skipped until it is back.
 * @module
 */
import { dirname, resolve } from "node:path";
import { type Clock, type Logger, silentLogger, systemClock } from "../core/mod.ts";
import type { ConfigSnapshot, PemSource, TlsContextConfig } from "../config/mod.ts";

/** A file the running snapshot loaded PEM from, and the PEM it holds. */
export interface WatchedPemFile {
  readonly path: string;
  readonly pem: string;
}

/** Default quiet time after the last event before the files are compared (an editor's save is several). */
export const CERT_WATCH_DEBOUNCE_MS = 200;
/** Longest a stream of events can postpone the comparison. */
export const CERT_WATCH_MAX_DELAY_MS = 2000;
/**
 * Bytes of a watched file compared by content; a larger one (no PEM is this large) is compared by size
 * and modification time only, so a stray huge file is never read whole by the watcher.
 */
export const MAX_COMPARED_PEM_BYTES = 1024 * 1024;

export interface CertificateWatcherOptions {
  /** Called with the paths that differ from the running snapshot (a reload should follow). */
  readonly onChange: (paths: string[]) => void;
  readonly logger?: Logger;
  /** Default `CERT_WATCH_DEBOUNCE_MS`. */
  readonly debounceMs?: number;
  /** Default `CERT_WATCH_MAX_DELAY_MS`. */
  readonly maxDelayMs?: number;
  readonly clock?: Clock;
}

/** Every PEM file the snapshot loaded (listener and cluster contexts), each path once. */
export function snapshotPemFiles(snapshot: ConfigSnapshot): WatchedPemFile[] {
  const byPath = new Map<string, string>();
  const add = (s: PemSource | undefined) => {
    if (s?.path !== undefined && !byPath.has(s.path)) byPath.set(s.path, s.pem);
  };
  const addContext = (ctx: TlsContextConfig) => {
    add(ctx.certChain);
    add(ctx.privateKey);
    add(ctx.caCert);
  };
  for (const server of snapshot.servers) {
    for (const l of server.listeners) l.tlsContexts.forEach(addContext);
  }
  for (const c of snapshot.clusters) if (c.tls !== undefined) addContext(c.tls);
  return [...byPath].map(([path, pem]) => ({ path, pem }));
}

/** The same PEM modulo line endings and surrounding blank space (what a loader may normalize). */
function samePem(a: string, b: string): boolean {
  return a === b || a.replaceAll("\r\n", "\n").trim() === b.replaceAll("\r\n", "\n").trim();
}

/** The file's content, a size+mtime token when it is too large to compare, or undefined when missing. */
async function readForCompare(path: string): Promise<string | undefined> {
  try {
    const st = await Deno.stat(path); // follows symlinks: the bytes a reload would load
    if (!st.isFile) return undefined;
    if (st.size > MAX_COMPARED_PEM_BYTES) return `\0large file ${st.size} ${st.mtime?.getTime()}`;
    return await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
}

/**
 * Watches the running snapshot's PEM files; `watch()` again with each applied snapshot (re-arms on the
 * new paths, keeping watches on directories still needed so no event is lost in between).
 */
export class CertificateWatcher {
  readonly #onChange: (paths: string[]) => void;
  readonly #logger: Logger;
  readonly #debounceMs: number;
  readonly #maxDelayMs: number;
  readonly #clock: Clock;
  #files: readonly WatchedPemFile[] = [];
  readonly #watchers = new Map<string, Deno.FsWatcher>();
  /** Per path, the last content that differed from the running PEM (reported once). */
  readonly #reported = new Map<string, string>();
  #timer: ReturnType<Clock["setTimeout"]> | undefined;
  #firstEventAt: number | undefined;
  #checking: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: CertificateWatcherOptions) {
    this.#onChange = options.onChange;
    this.#logger = options.logger ?? silentLogger;
    this.#debounceMs = options.debounceMs ?? CERT_WATCH_DEBOUNCE_MS;
    this.#maxDelayMs = options.maxDelayMs ?? CERT_WATCH_MAX_DELAY_MS;
    this.#clock = options.clock ?? systemClock;
  }

  /** The directories being watched. */
  get directories(): string[] {
    return [...this.#watchers.keys()].sort();
  }

  /**
   * Watches `files` from now on (the PEM each holds is what the running snapshot loaded) and compares
   * them once at once, in case one changed between the snapshot's load and this call.
   */
  watch(files: readonly WatchedPemFile[]): void {
    if (this.#closed) return;
    this.#files = files.map((f) => ({ path: resolve(f.path), pem: f.pem }));
    for (const path of [...this.#reported.keys()]) {
      if (!this.#files.some((f) => f.path === path)) this.#reported.delete(path);
    }
    const dirs = new Set<string>();
    for (const { path } of this.#files) {
      dirs.add(dirname(path));
      try {
        dirs.add(dirname(Deno.realPathSync(path)));
      } catch {
        // missing right now: its directory is watched, it is compared when it is back
      }
    }
    for (const dir of dirs) if (!this.#watchers.has(dir)) this.#watchDir(dir);
    for (const [dir, w] of this.#watchers) {
      if (dirs.has(dir)) continue;
      this.#watchers.delete(dir);
      w.close();
    }
    if (this.#files.length > 0) this.#schedule();
  }

  #watchDir(dir: string): void {
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(dir, { recursive: false });
    } catch (e) {
      // e.g. the inotify watch limit: rotation then needs a SIGHUP
      this.#logger.warn("cannot watch a certificate directory; reload with SIGHUP", {
        directory: dir,
        error: (e as Error).message,
      });
      return;
    }
    this.#watchers.set(dir, watcher);
    (async () => {
      for await (const event of watcher) {
        if (event.kind === "access" || event.kind === "other") continue; // our own reads, attributes
        this.directoryChanged();
      }
    })().catch((e) => {
      this.#logger.warn("certificate directory watch ended", { directory: dir, error: String(e) });
    }).finally(() => {
      if (this.#watchers.get(dir) === watcher) this.#watchers.delete(dir);
    });
  }

  /**
   * Something changed in a watched directory (the watches call this): compare the files once the
   * events settle — a trailing debounce, bounded by `maxDelayMs` from the first event of a burst.
   */
  directoryChanged(): void {
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    this.#firstEventAt ??= now;
    this.#clock.clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#firstEventAt + this.#maxDelayMs - now));
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = this.#firstEventAt = undefined;
      void this.#runCheck();
    }, wait);
  }

  async #runCheck(): Promise<void> {
    if (this.#checking !== undefined) {
      this.#again = true; // events during a comparison: compare again after it
      return;
    }
    this.#checking = (async () => {
      do {
        this.#again = false;
        const changed = await this.changedFiles();
        if (changed.length > 0 && !this.#closed) this.#onChange(changed);
      } while (this.#again && !this.#closed);
    })().catch((e) => {
      this.#logger.error("certificate file comparison failed", { error: String(e) });
    }).finally(() => this.#checking = undefined);
    await this.#checking;
  }

  /**
   * The watched paths whose content differs from the running PEM and was not reported before; marks
   * them reported. (The debounced check calls this; tests may too.)
   */
  async changedFiles(): Promise<string[]> {
    const changed: string[] = [];
    for (const { path, pem } of this.#files) {
      const now = await readForCompare(path);
      if (now === undefined) continue;
      if (samePem(now, pem)) {
        this.#reported.delete(path);
        continue;
      }
      if (this.#reported.get(path) === now) continue;
      this.#reported.set(path, now);
      changed.push(path);
    }
    return changed;
  }

  /** Resolves once no comparison is running (one in progress absorbs the events that arrive meanwhile). */
  async whenIdle(): Promise<void> {
    while (this.#checking !== undefined) await this.#checking;
  }

  /** Stops every watch and pending comparison. */
  close(): void {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#watchers.values()) w.close();
    this.#watchers.clear();
  }
}
