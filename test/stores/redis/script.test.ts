import { describe, expect, it } from "vitest";
import * as lua from "../../../src/stores/redis/lua";
import { scriptText } from "../../../src/stores/redis/script";

describe("Redis scripts as sent to Upstash", () => {
  const scripts = Object.values(lua).filter(
    (value): value is lua.LuaScript =>
      typeof value === "object" && value !== null && "source" in value && "readonly" in value,
  );

  it("every script locks only its keys (allow-key-locking); read scripts also say no-writes", () => {
    expect(scripts.map((s) => s.name).sort()).toEqual(
      [
        "after",
        "apply",
        "around",
        "build",
        "clear",
        "for-score",
        "page",
        "prepare",
        "remove",
        "rank",
        "sample",
        "swap",
      ].sort(),
    );
    for (const script of scripts) {
      const shebang = scriptText(script).split("\n")[0];
      expect(shebang, script.name).toBe(
        script.readonly
          ? "#!lua flags=allow-key-locking,no-writes"
          : "#!lua flags=allow-key-locking",
      );
    }
  });

  it("no read script calls a writing command", () => {
    const writes = /redis\.call\('(SET|DEL|ZADD|ZREM|HSET|HDEL|PEXPIRE|PEXPIREAT|RENAME|EXPIRE)'/;
    for (const script of scripts.filter((s) => s.readonly)) {
      expect(script.source, script.name).not.toMatch(writes);
    }
  });
});
