import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { boardView } from "../../services/boards";
import { guardedRoute, readableBoard } from "../access";
import type { AppContext } from "../context";
import { errorResponses } from "../errors";
import { BoardIdSchema, BoardSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "board-read", rateLimit: "read" },
  method: "get",
  path: "/v1/boards/{board}",
  tags: ["boards"],
  summary: "Read a board's definition",
  request: { params: z.object({ board: BoardIdSchema }) },
  responses: {
    200: { description: "The board", content: { "application/json": { schema: BoardSchema } } },
    ...errorResponses(400, 404),
  },
});

export function registerGetBoard(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const board = await readableBoard(c, c.req.valid("param").board);
    return c.json(boardView(board), 200);
  });
}
