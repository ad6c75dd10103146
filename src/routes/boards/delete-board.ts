import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { archiveBoard, publishBoard } from "../../services/board-admin";
import { boardView } from "../../services/boards";
import { guardedRoute } from "../access";
import { type AppContext, workersCache } from "../context";
import { errorResponses } from "../errors";
import { BOARD_EDIT_REACH } from "./edit-reach";
import { BoardIdSchema, BoardSchema } from "./schema";

const route = guardedRoute({
  access: { credential: "boards:admin", rateLimit: "admin" },
  method: "delete",
  path: "/v1/admin/boards/{board}",
  tags: ["admin", "boards"],
  summary: "Archive a board: its records are kept, reads answer 410, new events are refused",
  description:
    "Events naming an archived board are rejected per item with BOARD_ARCHIVED. " +
    `Archiving again changes nothing (the first archivedAt stays). ${BOARD_EDIT_REACH}`,
  request: { params: z.object({ board: BoardIdSchema }) },
  responses: {
    200: {
      description: "Archived (or already archived)",
      content: { "application/json": { schema: BoardSchema } },
    },
    ...errorResponses(400, 404),
  },
});

export function registerDeleteBoard(app: OpenAPIHono<AppContext>): void {
  app.openapi(route, async (c) => {
    const stores = c.get("stores");
    const board = await archiveBoard(stores.db(), c.req.valid("param").board);
    await publishBoard(stores.env, workersCache(c), board);
    return c.json(boardView(board), 200);
  });
}
