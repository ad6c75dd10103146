import type { OpenAPIHono } from "@hono/zod-openapi";
import { listBoards } from "../../services/board-list";
import { boardView } from "../../services/boards";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { BoardListQuerySchema, BoardListSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "get",
  path: "/v1/admin/boards",
  tags: ["admin", "boards"],
  summary: "Boards in id order, a page at a time (archived ones only with includeArchived=true)",
  request: { query: BoardListQuerySchema },
  responses: {
    200: { description: "Boards", content: { "application/json": { schema: BoardListSchema } } },
    ...errorResponses(400),
  },
});

export function registerGetBoards(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const { limit, cursor, includeArchived } = c.req.valid("query");
    const page = await listBoards(c.get("stores").db(), {
      limit,
      cursor,
      includeArchived: includeArchived === "true",
    });
    c.header("cache-control", "no-store");
    return c.json({ boards: page.boards.map(boardView), nextCursor: page.nextCursor }, 200);
  });
}
