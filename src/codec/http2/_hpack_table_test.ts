import { assertEquals } from "../../../tests/_assert.ts";
import {
  DynamicTable,
  STATIC_BY_NAME,
  STATIC_LENGTH,
  STATIC_NAMES,
  STATIC_TABLE,
  STATIC_VALUES,
} from "./_hpack_table.ts";

Deno.test("STATIC_TABLE is RFC 7541 Appendix A", () => {
  assertEquals(STATIC_TABLE.length, STATIC_LENGTH);
  assertEquals(STATIC_LENGTH, 61);
  assertEquals(STATIC_TABLE[0], [":authority", ""]);
  assertEquals(STATIC_TABLE[1], [":method", "GET"]);
  assertEquals(STATIC_TABLE[7], [":status", "200"]);
  assertEquals(STATIC_TABLE[15], ["accept-encoding", "gzip, deflate"]);
  assertEquals(STATIC_TABLE[30], ["content-type", ""]);
  assertEquals(STATIC_TABLE[54], ["set-cookie", ""]);
  assertEquals(STATIC_TABLE[60], ["www-authenticate", ""]);
  assertEquals([STATIC_NAMES[4], STATIC_VALUES[4]], [":path", "/"]);
  assertEquals(STATIC_BY_NAME.get(":status")?.index, 8);
  assertEquals(STATIC_BY_NAME.get(":status")?.values.get("404"), 13);
  assertEquals(STATIC_BY_NAME.get("user-agent")?.index, 58);
});

Deno.test("DynamicTable.add() inserts at position 0 and accounts name + value + 32", () => {
  const t = new DynamicTable(4096);
  t.add("custom-key", "custom-header");
  t.add(":authority", "www.example.com");
  assertEquals(t.entries(), [[":authority", "www.example.com"], ["custom-key", "custom-header"]]);
  assertEquals(t.size, 55 + 57);
  assertEquals([t.name(1), t.value(1)], ["custom-key", "custom-header"]);
});

Deno.test("DynamicTable.add() evicts the oldest entries until the new one fits", () => {
  const t = new DynamicTable(100);
  t.add("a", "1"); // 34
  t.add("b", "2"); // 34
  t.add("c", "3"); // 34: 102 > 100, "a" goes
  assertEquals(t.entries(), [["c", "3"], ["b", "2"]]);
  assertEquals(t.size, 68);
  t.add("dd", "x".repeat(33)); // 67: needs 67 free, both go
  assertEquals(t.entries(), [["dd", "x".repeat(33)]]);
  assertEquals(t.size, 67);
});

Deno.test("DynamicTable.add() of an entry larger than the table empties it (RFC 7541 §4.4)", () => {
  const t = new DynamicTable(64);
  t.add("a", "1");
  assertEquals(t.add("n", "v".repeat(40)), false);
  assertEquals(t.length, 0);
  assertEquals(t.size, 0);
  assertEquals(t.add("n", "v".repeat(31)), true); // exactly 64 fits
});

Deno.test("DynamicTable.setMaxSize() evicts down to the new size and clear() empties", () => {
  const t = new DynamicTable(4096);
  for (let i = 0; i < 10; i++) t.add(`k${i}`, "v"); // 35 each
  t.setMaxSize(100);
  assertEquals(t.entries(), [["k9", "v"], ["k8", "v"]]);
  assertEquals(t.maxSize, 100);
  t.setMaxSize(0);
  assertEquals(t.length, 0);
  t.setMaxSize(4096);
  t.add("x", "y");
  t.clear();
  assertEquals([t.length, t.size, t.maxSize], [0, 0, 4096]);
});

Deno.test("DynamicTable keeps order across ring growth and wrap-around", () => {
  const t = new DynamicTable(40 * 34);
  const expect: [string, string][] = [];
  for (let i = 0; i < 500; i++) {
    const e: [string, string] = [String.fromCharCode(97 + (i % 26)), String(i % 10)];
    t.add(e[0], e[1]);
    expect.unshift(e);
    if (expect.length > 40) expect.pop();
    assertEquals(t.entries(), expect, `after ${i + 1} adds`);
  }
});

Deno.test("DynamicTable.findField() and findName() follow insertions and evictions", () => {
  const t = new DynamicTable(34 * 3, true);
  t.add("a", "1");
  t.add("b", "2");
  t.add("a", "3");
  assertEquals(t.findField("a", "1"), 2);
  assertEquals(t.findField("a", "3"), 0);
  assertEquals(t.findName("a"), 0);
  assertEquals(t.findName("b"), 1);
  t.add("c", "4"); // evicts a: 1
  assertEquals(t.findField("a", "1"), -1);
  assertEquals(t.findName("a"), 1);
  t.add("a", "3"); // a duplicate; evicts b: 2
  assertEquals(t.findName("b"), -1);
  assertEquals(t.findField("a", "3"), 0);
  t.add("d", "5"); // evicts the older a: 3, the newer one stays findable
  assertEquals(t.findField("a", "3"), 1);
  t.setMaxSize(0);
  assertEquals([t.findField("a", "3"), t.findName("a"), t.findName("d")], [-1, -1, -1]);
  const plain = new DynamicTable(100);
  plain.add("a", "1");
  assertEquals(plain.findField("a", "1"), -1); // not an indexed table
});
