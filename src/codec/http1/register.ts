/** Registers the HTTP/1.1 codec under "Http1" when imported (by `src/codec/mod.ts`). */
import { registerCodec } from "../registry.ts";
import { http1Codec } from "./mod.ts";

registerCodec(http1Codec);

export * from "./mod.ts";
