// The runtime's floor beside the benchmarked worker (bench/lib/workerd.ts, HELLO_MODULE, says
// what each path measures). Plain JavaScript served as is: no framework, no bundling.
import { DurableObject } from "cloudflare:workers";

const body = JSON.stringify({ status: "ok", environment: "development" });
const json = { "content-type": "application/json; charset=utf-8" };
let page = "";
let delivered = 0;
export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/event") {
      // The floor of one score per request: the event queued, as POST /v1/events queues it.
      await env.FLOOR_EVENTS.sendBatch([{ body: await request.json(), contentType: "json" }]);
      return new Response('{"accepted":1}', { status: 202, headers: json });
    }
    if (path === "/buffered") {
      // The coalescing alternative: the event kept durably by one of 4 buffer objects, which
      // queue what they hold as packed messages of up to 100 events once a second.
      const event = await request.json();
      const shard = env.BUFFER.idFromName(String(Math.floor(Math.random() * 4)));
      await env.BUFFER.get(shard).add(JSON.stringify(event));
      return new Response('{"accepted":1}', { status: 202, headers: json });
    }
    if (path === "/delivered") return new Response(String(delivered));
    // The floor of one Rate Limiting binding call, bound as the worker's are (the lifted limiter).
    if (path === "/limited" || path === "/redis" || path === "/logged")
      await env.LIMIT.limit({ key: "floor" });
    // And of one JSON log line, shaped as our per-request line (src/routes/middleware).
    if (path === "/logged")
      console.log(
        JSON.stringify({
          level: "info",
          message: "request",
          time: new Date().toISOString(),
          requestId: crypto.randomUUID(),
          route: "GET /floor",
          status: 200,
          ms: 0,
          outcome: "ok",
        }),
      );
    // And of one Upstash command, as a rank read sends one (a fetch with a JSON command).
    if (path === "/redis") {
      const reply = await fetch(env.UPSTASH_URL, {
        method: "POST",
        headers: { authorization: `Bearer ${env.UPSTASH_TOKEN}` },
        body: '["ZCARD","floor"]',
      });
      return new Response(await reply.text(), { headers: json });
    }
    if (path !== "/page") return new Response(body, { headers: json });
    if (request.method === "PUT") {
      page = await request.text();
      return new Response(null, { status: 204 });
    }
    return new Response(page, { headers: json });
  },
  async queue(batch) {
    for (const message of batch.messages) {
      delivered += Array.isArray(message.body) ? message.body.length : 1;
      message.ack();
    }
  },
};
export class Buffer extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("create table if not exists held (id integer primary key, body text)");
  }
  async add(event) {
    this.ctx.storage.sql.exec("insert into held (body) values (?)", event);
    if ((await this.ctx.storage.getAlarm()) === null)
      await this.ctx.storage.setAlarm(Date.now() + 1000);
  }
  async alarm() {
    const rows = this.ctx.storage.sql.exec("select id, body from held order by id").toArray();
    // Ten messages of 100 events per send: under a send's 256 KB.
    for (let i = 0; i < rows.length; i += 1000) {
      const messages = [];
      for (let j = i; j < Math.min(rows.length, i + 1000); j += 100)
        messages.push({
          body: rows.slice(j, j + 100).map((r) => JSON.parse(r.body)),
          contentType: "json",
        });
      await this.env.FLOOR_EVENTS.sendBatch(messages);
    }
    if (rows.length > 0)
      this.ctx.storage.sql.exec("delete from held where id <= ?", rows.at(-1).id);
  }
}
