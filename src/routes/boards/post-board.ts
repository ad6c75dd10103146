import type { OpenAPIHono } from "@hono/zod-openapi";
import { boardView, createBoard } from "../../services/boards";
import { guardedRoute } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { BoardSchema, CreateBoardSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "post",
  path: "/v1/admin/boards",
  tags: ["admin", "boards"],
  summary: "Create a board",
  request: {
    body: { required: true, content: { "application/json": { schema: CreateBoardSchema } } },
  },
  responses: {
    201: { description: "Created", content: { "application/json": { schema: BoardSchema } } },
    ...errorResponses(400, 401, 409, 415),
  },
});

export function registerPostBoard(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const board = await createBoard(c.get("stores").db(), c.req.valid("json"));
    return c.json(boardView(board), 201);
  });
}
