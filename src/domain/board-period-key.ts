/**
 * One board-period as a map key. Ids never hold a NUL (board ids and period keys are checked
 * formats), so joining at one is unambiguous.
 */
export const boardPeriodKey = (boardId: string, periodKey: string) => `${boardId}\u0000${periodKey}`;
