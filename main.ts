#!/usr/bin/env -S deno run --no-prompt --unstable-net --allow-net --allow-read --allow-write --allow-sys=hostname,osRelease --allow-env=NO_COLOR,TERM,MESHCTL_LOG_LEVEL,MESHCTL_LOG_FORMAT,LOG_TOKENS,LOG_STREAM,GRPC_*,grpc_proxy,http_proxy,https_proxy,no_grpc_proxy,no_proxy --v8-flags=--max-semi-space-size=4,--heap-growing-percent=50,--enable-experimental-regexp-engine,--enable-experimental-regexp-engine-on-excessive-backtracks
import { main } from "./src/cli/main.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
