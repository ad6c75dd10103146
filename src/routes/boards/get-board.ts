import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppContext } from "../../env";
import { boardView, requireBoard } from "../../services/boards";
import { errorResponses } from "../errors";
import { BoardIdSchema, BoardSchema } from "./schema";

const route = createRoute({
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
    const board = await requireBoard(c.get("db"), c.req.valid("param").board);
    return c.json(boardView(board), 200);
  });
}
