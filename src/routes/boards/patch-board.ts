import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { publishBoard, refreshObjects, updateBoard } from "../../services/board-admin";
import { boardView } from "../../services/boards";
import { guardedRoute } from "../access";
import { type AppContext, workersCache } from "../context";
import { errorResponses } from "../errors";
import { BOARD_EDIT_REACH } from "./edit-reach";
import { BoardIdSchema, BoardSchema, UpdateBoardSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "patch",
  path: "/v1/admin/boards/{board}",
  tags: ["admin", "boards"],
  summary: "Change a board's settings",
  description:
    "Only the fields sent change; null clears an optional one. " +
    "sortOrder, operator, periods, timeZone and weekStart change only while the board has no " +
    `records (409 after). ${BOARD_EDIT_REACH}`,
  request: {
    params: z.object({ board: BoardIdSchema }),
    body: { required: true, content: { "application/json": { schema: UpdateBoardSchema } } },
  },
  responses: {
    200: {
      description: "The board as changed",
      content: { "application/json": { schema: BoardSchema } },
    },
    ...errorResponses(400, 404, 409, 410),
  },
});

export function registerPatchBoard(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const stores = c.get("stores");
    const id = c.req.valid("param").board;
    const { board, topSizeChanged } = await updateBoard(stores.db(), id, c.req.valid("json"));
    await publishBoard(stores.env, workersCache(c), board);
    if (topSizeChanged) await refreshObjects(stores.env, board);
    return c.json(boardView(board), 200);
  });
}
