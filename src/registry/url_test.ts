import { assertEquals } from "../../tests/_assert.ts";
import {
  dubboConsumerUrl,
  dubboProviderUrl,
  interfacePathProblem,
  javaUrlDecode,
  javaUrlEncode,
  parseProviderNode,
  parseRegistryUrl,
  providerMatches,
  registryNodePath,
  sofaConsumerUrl,
  sofaProviderUrl,
  sofaServiceName,
} from "./url.ts";
import type { ProviderInstance, ServiceKey } from "./types.ts";

// What java.net.URLEncoder.encode(s, StandardCharsets.UTF_8) returns, written from its rules:
// a-zA-Z0-9 . - * _ kept, space → '+', every other UTF-8 byte → %XX in uppercase hex.
const JAVA_VECTORS: [string, string][] = [
  ["", ""],
  ["abcXYZ019.-*_", "abcXYZ019.-*_"],
  ["a b", "a+b"],
  ["~!'()*", "%7E%21%27%28%29*"],
  ["+%&=?/:#,;@$[]", "%2B%25%26%3D%3F%2F%3A%23%2C%3B%40%24%5B%5D"],
  ['"<>\\^`{|}', "%22%3C%3E%5C%5E%60%7B%7C%7D"],
  ["é", "%C3%A9"],
  ["中文", "%E4%B8%AD%E6%96%87"],
  ["😀", "%F0%9F%98%80"],
  ["\t\n", "%09%0A"],
  [
    "dubbo://10.0.0.1:20880/com.example.Demo?application=demo app&methods=a,b&version=1.0.0",
    "dubbo%3A%2F%2F10.0.0.1%3A20880%2Fcom.example.Demo%3Fapplication%3Ddemo+app%26methods%3Da%2Cb%26version%3D1.0.0",
  ],
];

Deno.test("javaUrlEncode writes what Java's URLEncoder writes (space +, * kept, ~!'() escaped, UTF-8)", () => {
  for (const [plain, encoded] of JAVA_VECTORS) assertEquals(javaUrlEncode(plain), encoded, plain);
  // The difference that matters: encodeURIComponent would leave ~!'() and write %20.
  assertEquals(encodeURIComponent("~!'() ") === javaUrlEncode("~!'() "), false);
});

Deno.test("javaUrlDecode inverts the encoder and reads what Java's URLDecoder reads", () => {
  for (const [plain, encoded] of JAVA_VECTORS) assertEquals(javaUrlDecode(encoded), plain, encoded);
  assertEquals(javaUrlDecode("a+b%20c"), "a b c");
  assertEquals(javaUrlDecode("%7e%c3%a9"), "~é"); // lowercase hex is accepted
  assertEquals(javaUrlDecode("~!'()"), "~!'()"); // unescaped specials pass through
  assertEquals(javaUrlDecode("中+x"), "中 x"); // raw non-ASCII is kept
});

Deno.test("javaUrlDecode refuses what Java's URLDecoder refuses: truncated, non-hex and non-UTF-8 escapes", () => {
  for (const bad of ["%", "%4", "abc%", "%zz", "%G0", "%C3", "%FF%FE"]) {
    assertEquals(javaUrlDecode(bad), undefined, bad);
  }
});

Deno.test("parseRegistryUrl splits Dubbo, SOFA bolt and IPv6 URLs and says why a bad one is bad", () => {
  const dubbo = parseRegistryUrl(
    "dubbo://10.0.0.1:20880/com.example.Demo?methods=a,b&version=1.0&empty=&flag",
  );
  if (typeof dubbo === "string") throw new Error(dubbo);
  assertEquals([dubbo.protocol, dubbo.host, dubbo.port, dubbo.path], [
    "dubbo",
    "10.0.0.1",
    20880,
    "com.example.Demo",
  ]);
  assertEquals([...dubbo.params], [["methods", "a,b"], ["version", "1.0"], ["empty", ""], ["flag", ""]]);
  const bolt = parseRegistryUrl("bolt://10.0.0.2:12200?uniqueId=u1&weight=50");
  if (typeof bolt === "string") throw new Error(bolt);
  assertEquals([bolt.protocol, bolt.host, bolt.port, bolt.path], ["bolt", "10.0.0.2", 12200, ""]);
  const v6 = parseRegistryUrl("dubbo://[::1]:20880/x");
  if (typeof v6 === "string") throw new Error(v6);
  assertEquals([v6.host, v6.port], ["::1", 20880]);
  const auth = parseRegistryUrl("dubbo://user:pw@10.0.0.3:1/x");
  assertEquals(typeof auth !== "string" && auth.host, "10.0.0.3");
  for (
    const [bad, why] of [
      ["10.0.0.1:20880/x", "no protocol:// prefix"],
      ["dubbo://10.0.0.1/x", 'no port in "10.0.0.1"'],
      ["dubbo://10.0.0.1:0/x", 'bad port "0"'],
      ["dubbo://10.0.0.1:65536/x", 'bad port "65536"'],
      ["dubbo://10.0.0.1:12ab/x", 'bad port "12ab"'],
      ["dubbo://:20880/x", 'bad host ""'],
      ["dubbo://[::1/x", 'bad address "[::1"'],
      ["1ab://h:1", 'bad protocol "1ab"'],
    ]
  ) assertEquals(parseRegistryUrl(bad!), why, bad);
});

Deno.test("parseProviderNode decodes a node name into a provider, weight from the URL else 100", () => {
  const url = "dubbo://10.0.0.1:20880/com.example.Demo?interface=com.example.Demo&weight=30";
  const p = parseProviderNode(javaUrlEncode(url));
  if (typeof p === "string") throw new Error(p);
  assertEquals([p.host, p.port, p.weight, p.url], ["10.0.0.1", 20880, 30, url]);
  const noWeight = parseProviderNode(javaUrlEncode("bolt://10.0.0.2:12200?uniqueId="));
  assertEquals(typeof noWeight !== "string" && noWeight.weight, 100);
  const badWeight = parseProviderNode(javaUrlEncode("bolt://10.0.0.2:12200?weight=-5"));
  assertEquals(typeof badWeight !== "string" && badWeight.weight, 100);
  assertEquals(
    parseProviderNode("dubbo%3A%2F%2F10.0.0.1%3A2%"),
    "not URL-encoded (bad % escape or not UTF-8)",
  );
  assertEquals(parseProviderNode("garbage"), "no protocol:// prefix");
});

function provider(url: string): ProviderInstance {
  const p = parseProviderNode(javaUrlEncode(url));
  if (typeof p === "string") throw new Error(p);
  return p;
}

Deno.test("providerMatches: Dubbo filters on interface, group (* and lists) and version (*)", () => {
  const key = (group: string, version: string): ServiceKey => ({
    layout: "dubbo",
    interface: "com.example.Demo",
    group,
    version,
  });
  const plain = provider("dubbo://h:1/com.example.Demo?interface=com.example.Demo&version=1.0.0");
  const grouped = provider("dubbo://h:2/com.example.Demo?interface=com.example.Demo&group=g1&version=2.0.0");
  const other = provider("dubbo://h:3/com.example.Other?interface=com.example.Other");
  const disabled = provider("dubbo://h:4/com.example.Demo?interface=com.example.Demo&enabled=false");
  const consumer = provider("dubbo://h:5/com.example.Demo?interface=com.example.Demo&category=consumers");
  const all = [plain, grouped, other, disabled, consumer];
  const ports = (k: ServiceKey) => all.filter((p) => providerMatches(k, p)).map((p) => p.port);
  assertEquals(ports(key("", "1.0.0")), [1]);
  assertEquals(ports(key("", "*")), [1]); // not the disabled one (4), nor the consumer (5)
  assertEquals(ports(key("g1", "2.0.0")), [2]);
  assertEquals(ports(key("g1", "1.0.0")), []);
  assertEquals(ports(key("*", "*")), [1, 2]);
  assertEquals(ports(key("g0, g1", "*")), [2]);
  assertEquals(ports(key("", "")), []);
});

Deno.test("providerMatches: SOFA filters on uniqueId, and on version only when the key sets one", () => {
  const key = (group: string, version = ""): ServiceKey => ({
    layout: "sofa",
    interface: "com.x.S",
    group,
    version,
  });
  const none = provider("bolt://h:1?interface=com.x.S&uniqueId=&version=1.0");
  const u1 = provider("bolt://h:2?interface=com.x.S&uniqueId=u1&version=1.0");
  const ports = (k: ServiceKey) => [none, u1].filter((p) => providerMatches(k, p)).map((p) => p.port);
  assertEquals(ports(key("")), [1]);
  assertEquals(ports(key("u1")), [2]);
  assertEquals(ports(key("u1", "1.0")), [2]);
  assertEquals(ports(key("u1", "2.0")), []);
});

Deno.test("URL builders write the parameters Dubbo and SOFA RPC write (registry.md B1/B2)", () => {
  const base = { host: "10.0.0.1", iface: "com.example.Demo", application: "app", pid: 42, timestamp: 1000 };
  assertEquals(
    dubboProviderUrl({
      ...base,
      port: 20880,
      methods: ["sayHello", "getUser"],
      group: "g",
      version: "1.0.0",
    }),
    "dubbo://10.0.0.1:20880/com.example.Demo?anyhost=true&application=app&deprecated=false&dubbo=2.0.2" +
      "&dynamic=true&generic=false&group=g&interface=com.example.Demo&methods=getUser,sayHello&pid=42" +
      "&side=provider&timestamp=1000&version=1.0.0",
  );
  assertEquals(
    dubboConsumerUrl({ ...base, methods: ["a"] }),
    "consumer://10.0.0.1/com.example.Demo?application=app&category=consumers&check=false&dubbo=2.0.2" +
      "&interface=com.example.Demo&methods=a&pid=42&side=consumer&timestamp=1000",
  );
  assertEquals(
    sofaProviderUrl({ ...base, port: 12200, uniqueId: "u1" }),
    "bolt://10.0.0.1:12200?version=1.0&uniqueId=u1&interface=com.example.Demo&timeout=3000&delay=-1" +
      "&id=rpc-cfg-0&dynamic=true&weight=100&accepts=100000&startTime=1000&appName=app" +
      "&serialization=hessian2&protocol=bolt&language=java&pid=42&rpcVer=50603",
  );
  assertEquals(
    sofaConsumerUrl(base),
    "bolt://10.0.0.1?uniqueId=&version=1.0&interface=com.example.Demo&pid=42&timeout=3000&appName=app" +
      "&serialization=hessian2&startTime=1000",
  );
  assertEquals(
    dubboProviderUrl({ ...base, host: "::1", port: 1, methods: [] }).startsWith("dubbo://[::1]:1/"),
    true,
  );
  // Built URLs parse back into the provider they describe, and match their own key.
  const p = provider(dubboProviderUrl({ ...base, port: 20880, methods: ["a"], version: "1.0.0" }));
  assertEquals(
    providerMatches({ layout: "dubbo", interface: base.iface, group: "", version: "1.0.0" }, p),
    true,
  );
  const s = provider(sofaProviderUrl({ ...base, port: 12200, weight: 7 }));
  assertEquals([s.port, s.weight], [12200, 7]);
  assertEquals(providerMatches({ layout: "sofa", interface: base.iface, group: "", version: "" }, s), true);
});

Deno.test("registryNodePath is the layout's role path plus the Java-encoded URL; bad interfaces are named", () => {
  assertEquals(
    registryNodePath("dubbo", "com.x.D", "providers", "dubbo://h:1/com.x.D?a=b c"),
    "/dubbo/com.x.D/providers/dubbo%3A%2F%2Fh%3A1%2Fcom.x.D%3Fa%3Db+c",
  );
  assertEquals(
    registryNodePath("sofa", "com.x.S", "consumers", "bolt://h"),
    "/sofa-rpc/com.x.S/consumers/bolt%3A%2F%2Fh",
  );
  assertEquals(interfacePathProblem("com.x.D"), undefined);
  assertEquals(interfacePathProblem(""), "the interface is empty");
  assertEquals(interfacePathProblem("a/b"), 'interface "a/b" contains "/"');
  assertEquals(interfacePathProblem(".."), 'interface ".." is a relative path component');
  assertEquals(
    interfacePathProblem("a\u0001"),
    'interface "a\u0001" contains characters ZooKeeper does not allow in a path',
  );
});

Deno.test("sofaServiceName: <iface>:<version>[:<uniqueId>], version 1.0 by default (SOFA's bolt service header)", () => {
  assertEquals(sofaServiceName("com.x.Hello", "", ""), "com.x.Hello:1.0");
  assertEquals(sofaServiceName("com.x.Hello", "2.0", ""), "com.x.Hello:2.0");
  assertEquals(sofaServiceName("com.x.Hello", "", "blue"), "com.x.Hello:1.0:blue");
});
