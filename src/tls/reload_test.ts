import assert from "node:assert/strict";
import { FakeClock } from "../core/mod.ts";
import { makeTestPki } from "../../tests/_peers/certs.ts";
import { CertificateWatcher, snapshotPemFiles } from "./reload.ts";
import { pemFrom, snapshotWithTls, tlsContext } from "./_test_snapshot.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/** A watcher whose onChange calls can be awaited one by one. */
function recordingWatcher(extra: { debounceMs?: number; maxDelayMs?: number; clock?: FakeClock } = {}) {
  const calls: string[][] = [];
  let wake: (() => void) | undefined;
  const watcher = new CertificateWatcher({
    debounceMs: extra.debounceMs ?? 20,
    maxDelayMs: extra.maxDelayMs,
    clock: extra.clock,
    onChange: (paths) => {
      calls.push(paths);
      wake?.();
    },
  });
  /** Resolves with the n-th call (1-based) once it happened; fails after 5 s. */
  const call = async (n: number): Promise<string[]> => {
    const deadline = Date.now() + 5000;
    while (calls.length < n) {
      if (Date.now() > deadline) throw new Error(`onChange call ${n} did not come (calls: ${calls.length})`);
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 100);
      });
    }
    return calls[n - 1]!;
  };
  return { watcher, calls, call };
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "meshctl-certwatch-" });
}

Deno.test(
  "CertificateWatcher reports a certificate replaced by rename (editors, cert managers)",
  opts,
  async () => {
    const pki = await makeTestPki();
    const dir = await tempDir();
    const { watcher, call } = recordingWatcher();
    try {
      const path = `${dir}/server.pem`;
      await Deno.writeTextFile(path, pki.server.cert);
      watcher.watch([{ path, pem: pki.server.cert }]);
      const rotated = await pki.issue("rotated", "DNS:localhost");
      await Deno.writeTextFile(`${dir}/.server.pem.tmp`, rotated.cert);
      await Deno.rename(`${dir}/.server.pem.tmp`, path);
      assert.deepEqual(await call(1), [path]);
    } finally {
      watcher.close();
      await Deno.remove(dir, { recursive: true });
      await pki.remove();
    }
  },
);

Deno.test("CertificateWatcher reports a certificate written in place", opts, async () => {
  const pki = await makeTestPki();
  const dir = await tempDir();
  const { watcher, call } = recordingWatcher();
  try {
    const path = `${dir}/server.key`;
    await Deno.writeTextFile(path, pki.server.key);
    watcher.watch([{ path, pem: pki.server.key }]);
    await Deno.writeTextFile(path, pki.other.key);
    assert.deepEqual(await call(1), [path]);
  } finally {
    watcher.close();
    await Deno.remove(dir, { recursive: true });
    await pki.remove();
  }
});

Deno.test(
  "CertificateWatcher reports a Kubernetes secret update (the ..data symlink swapped)",
  opts,
  async () => {
    const pki = await makeTestPki();
    const dir = await tempDir();
    const { watcher, call } = recordingWatcher();
    try {
      // What the kubelet's AtomicWriter lays out: tls.crt → ..data/tls.crt, ..data → ..<timestamp>.
      await Deno.mkdir(`${dir}/..2026_12_01_v1`);
      await Deno.writeTextFile(`${dir}/..2026_12_01_v1/tls.crt`, pki.server.cert);
      await Deno.symlink("..2026_12_01_v1", `${dir}/..data`);
      await Deno.symlink("..data/tls.crt", `${dir}/tls.crt`);
      const path = `${dir}/tls.crt`;
      watcher.watch([{ path, pem: pki.server.cert }]);
      assert.deepEqual(watcher.directories, [dir, `${dir}/..2026_12_01_v1`].sort());
      await Deno.mkdir(`${dir}/..2026_12_01_v2`);
      await Deno.writeTextFile(`${dir}/..2026_12_01_v2/tls.crt`, pki.other.cert);
      await Deno.symlink("..2026_12_01_v2", `${dir}/..data_tmp`);
      await Deno.rename(`${dir}/..data_tmp`, `${dir}/..data`);
      await Deno.remove(`${dir}/..2026_12_01_v1`, { recursive: true });
      assert.deepEqual(await call(1), [path]);
    } finally {
      watcher.close();
      await Deno.remove(dir, { recursive: true });
      await pki.remove();
    }
  },
);

Deno.test(
  "CertificateWatcher.changedFiles(): unchanged or missing files are not changes; one content is reported once",
  opts,
  async () => {
    const pki = await makeTestPki();
    const dir = await tempDir();
    // A clock nobody ticks: the watcher's own debounced comparison never runs, so only the calls below
    // compare. With the real 20 ms debounce, the file events of each write raced them on a busy machine and
    // took the "reported once" first.
    const { watcher } = recordingWatcher({ clock: new FakeClock() });
    try {
      const cert = `${dir}/cert.pem`;
      const key = `${dir}/key.pem`;
      await Deno.writeTextFile(cert, pki.server.cert.replaceAll("\n", "\r\n") + "\n\n");
      await Deno.writeTextFile(key, pki.server.key);
      watcher.watch([{ path: cert, pem: pki.server.cert }, { path: key, pem: pki.server.key }]);
      await Deno.writeTextFile(`${dir}/unrelated.txt`, "x");
      assert.deepEqual(await watcher.changedFiles(), [], "CRLF and trailing blank lines are the same PEM");

      await Deno.writeTextFile(key, "-----BEGIN PRIVATE KEY-----\nbroken\n");
      assert.deepEqual(await watcher.changedFiles(), [key]);
      assert.deepEqual(await watcher.changedFiles(), [], "the same broken bytes again: already reported");
      await Deno.writeTextFile(key, "-----BEGIN PRIVATE KEY-----\nbroken differently\n");
      assert.deepEqual(await watcher.changedFiles(), [key], "new bytes: reported");
      await Deno.writeTextFile(key, pki.server.key);
      assert.deepEqual(await watcher.changedFiles(), [], "back to what is running: nothing to reload");

      await Deno.remove(cert);
      assert.deepEqual(await watcher.changedFiles(), [], "missing (a rename in flight): wait for it");
      await Deno.writeTextFile(cert, pki.other.cert);
      assert.deepEqual(await watcher.changedFiles(), [cert]);
    } finally {
      watcher.close();
      await Deno.remove(dir, { recursive: true });
      await pki.remove();
    }
  },
);

Deno.test(
  "CertificateWatcher debounces a burst of events into one comparison, at most maxDelayMs late",
  opts,
  async () => {
    const pki = await makeTestPki();
    const dir = await tempDir();
    const clock = new FakeClock();
    const { watcher, calls, call } = recordingWatcher({ debounceMs: 200, maxDelayMs: 1000, clock });
    try {
      // Count comparisons as they start (the debounce timer calls changedFiles() synchronously).
      let comparisons = 0;
      const compare = watcher.changedFiles.bind(watcher);
      watcher.changedFiles = () => {
        comparisons++;
        return compare();
      };
      const path = `${dir}/cert.pem`;
      await Deno.writeTextFile(path, pki.server.cert);
      watcher.watch([{ path, pem: pki.server.cert }]); // arms one comparison too
      clock.tick(199);
      assert.equal(comparisons, 0);
      clock.tick(1);
      assert.equal(comparisons, 1, "the arming comparison, 200 ms after watch()");
      await watcher.whenIdle(); // a comparison still reading would absorb the next one
      await Deno.writeTextFile(path, pki.other.cert);
      // Events every 100 ms keep postponing the comparison, but not past 1 s after the first.
      for (let t = 0; t < 900; t += 100) {
        watcher.directoryChanged();
        clock.tick(100);
      }
      assert.equal(comparisons, 1, "still inside the burst: not compared yet");
      watcher.directoryChanged();
      clock.tick(100); // 1000 ms after the burst's first event
      assert.equal(comparisons, 2, "compared once, at maxDelayMs");
      assert.deepEqual(await call(1), [path]);
      assert.equal(calls.length, 1);
    } finally {
      watcher.close();
      await Deno.remove(dir, { recursive: true });
      await pki.remove();
    }
  },
);

Deno.test(
  "CertificateWatcher.watch() re-arms on a new snapshot's files and lets go of the old directories",
  opts,
  async () => {
    const pki = await makeTestPki();
    const dirA = await tempDir();
    const dirB = await tempDir();
    const { watcher, call } = recordingWatcher();
    try {
      await Deno.writeTextFile(`${dirA}/a.pem`, pki.server.cert);
      await Deno.writeTextFile(`${dirB}/b.pem`, pki.other.cert);
      const first = snapshotWithTls([tlsContext({ certChain: pemFrom(`${dirA}/a.pem`) })]);
      watcher.watch(snapshotPemFiles(first));
      assert.deepEqual(watcher.directories, [dirA]);
      const second = snapshotWithTls([], tlsContext({ caCert: pemFrom(`${dirB}/b.pem`) }));
      watcher.watch(snapshotPemFiles(second));
      assert.deepEqual(watcher.directories, [dirB]);
      await Deno.writeTextFile(`${dirA}/a.pem`, pki.client.cert); // no longer loaded: not reported
      await Deno.writeTextFile(`${dirB}/b.pem`, pki.client.cert);
      assert.deepEqual(await call(1), [`${dirB}/b.pem`]);
    } finally {
      watcher.close();
      await Deno.remove(dirA, { recursive: true });
      await Deno.remove(dirB, { recursive: true });
      await pki.remove();
    }
  },
);

Deno.test("snapshotPemFiles() lists every file-backed PEM of listeners and clusters once; inline PEM is not watched", async () => {
  const pki = await makeTestPki();
  try {
    const snap = snapshotWithTls(
      [
        tlsContext({
          certChain: pemFrom(pki.server.certPath),
          privateKey: pemFrom(pki.server.keyPath),
          caCert: pemFrom(pki.ca.certPath),
        }),
        tlsContext({ certChain: pemFrom(undefined, pki.other.cert), privateKey: pemFrom(undefined, "k") }),
      ],
      tlsContext({ certChain: pemFrom(pki.client.certPath), caCert: pemFrom(pki.ca.certPath) }),
    );
    assert.deepEqual(snapshotPemFiles(snap).map((f) => f.path), [
      pki.server.certPath,
      pki.server.keyPath,
      pki.ca.certPath,
      pki.client.certPath,
    ]);
  } finally {
    await pki.remove();
  }
});
