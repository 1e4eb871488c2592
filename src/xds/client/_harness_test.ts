/**
 * Test harness: an AdsClient against the scriptable control plane on loopback, with the integrator's side
 * (decode + apply) played by a tiny in-memory store that rejects resources named "bad*".
 */
import { FakeClock } from "../../core/mod.ts";
import { StatsRegistry } from "../../stats/mod.ts";
import { Events } from "../../../tests/_events.ts";
import { XdsControlPlane } from "../../../tests/_peers/xds_control_plane.ts";
import { AdsClient, type AdsClientOptions, protobufDecode } from "./mod.ts";

export { TYPE } from "../../../tests/_peers/xds_control_plane.ts";
export { XdsControlPlane };

export const NODE = {
  id: "sidecar~127.0.0.1~app.default~default.svc.cluster.local",
  cluster: "app.default",
  user_agent_name: "meshctl",
};

export interface Closed {
  stream: number;
  code: number;
  retryInMs: number | undefined;
}

export class Harness {
  readonly cp: XdsControlPlane;
  readonly registry = new StatsRegistry();
  readonly events = new Events();
  /** The integrator's committed state: per type, name → resource, and the version it came with. */
  readonly store = new Map<string, { version: string; names: string[] }>();
  readonly applyCalls: { typeUrl: string; names: string[]; version: string }[] = [];
  readonly closed: Closed[] = [];
  readonly absent: string[] = [];
  opened = 0;
  handled = 0;
  connectedNow = false;
  readonly client: AdsClient;
  /** Runs inside apply after a commit (an integrator updating subscriptions from what it just applied). */
  onCommit: ((typeUrl: string, names: string[]) => void) | undefined;

  constructor(cp: XdsControlPlane, options: Partial<AdsClientOptions> = {}) {
    this.cp = cp;
    this.client = new AdsClient({
      target: cp.address,
      node: NODE,
      registry: this.registry,
      decode: protobufDecode,
      apply: (typeUrl, resources, version) => {
        const names = [...resources.keys()].sort();
        this.applyCalls.push({ typeUrl, names, version });
        const bad = names.find((n) => n.startsWith("bad"));
        if (bad) return { ok: false, message: `${typeUrl.split(".").pop()} "${bad}": rejected by the test` };
        this.store.set(typeUrl, { version, names });
        this.onCommit?.(typeUrl, names);
        return { ok: true };
      },
      onDoesNotExist: (typeUrl, name) => {
        this.absent.push(`${typeUrl.split(".").pop()}/${name}`);
        this.events.notify();
      },
      observer: {
        streamOpened: () => {
          this.opened++;
          this.events.notify();
        },
        streamClosed: (stream, code, _details, retryInMs) => {
          this.closed.push({ stream, code, retryInMs });
          this.events.notify();
        },
        responseHandled: () => {
          this.handled++;
          this.events.notify();
        },
        connectedChanged: (c) => {
          this.connectedNow = c;
          this.events.notify();
        },
      },
      ...options,
    });
  }

  static async start(options: Partial<AdsClientOptions> = {}): Promise<Harness> {
    return new Harness(await XdsControlPlane.start(), options);
  }

  counter(type: string, name: string): number {
    const scope = this.registry.snapshot().scopes.find((s) => s.type === "xds" && s.labels.type === type);
    return scope?.counters[name] ?? 0;
  }

  controlPlaneCounter(name: string): number {
    const scope = this.registry.snapshot().scopes.find((s) =>
      s.type === "xds" && s.labels.control_plane === "ads"
    );
    return scope?.counters[name] ?? scope?.gauges[name] ?? 0;
  }

  [Symbol.dispose](): void {
    this.client.close();
    this.cp.close();
  }
}

export function cluster(name: string): Record<string, unknown> {
  return { name, type: "EDS", eds_cluster_config: { service_name: name }, connect_timeout: { seconds: 1 } };
}

export function cla(name: string): Record<string, unknown> {
  return {
    cluster_name: name,
    endpoints: [{
      lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: 9 } } } }],
    }],
  };
}

export function listener(name: string): Record<string, unknown> {
  return { name, address: { socket_address: { address: "127.0.0.1", port_value: 15001 } } };
}

export { FakeClock };
