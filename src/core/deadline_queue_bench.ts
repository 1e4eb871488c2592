/**
 * The per-request timeout cost: DeadlineQueue add + cancel against the setTimeout it replaces. Each
 * iteration is 1000 requests (divide by 1000 for ns/op), so the shared tick's sweeps are amortised in.
 */
import { DeadlineQueue } from "./deadline_queue.ts";

const q = new DeadlineQueue();
const noop = () => {};
const OPS = 1000;

Deno.bench({ name: "DeadlineQueue add + cancel ×1000", group: "timeout", baseline: true, n: 5000 }, () => {
  for (let i = 0; i < OPS; i++) q.add(60_000, noop).cancel();
});

Deno.bench({ name: "DeadlineQueue add ×2 durations + cancel ×1000", group: "timeout", n: 5000 }, () => {
  for (let i = 0; i < OPS; i++) {
    const a = q.add(60_000, noop);
    q.add(15_000, noop).cancel();
    a.cancel();
  }
});

Deno.bench({ name: "setTimeout + clearTimeout ×1000", group: "timeout", n: 500 }, () => {
  for (let i = 0; i < OPS; i++) clearTimeout(setTimeout(noop, 60_000));
});
