import type { DeadLetter } from "../domain/messages";
import type { AppBindings } from "../env";

/** Sends a message that cannot succeed to the dead-letter queue, with the reason it died. */
export async function deadLetter(
  env: AppBindings,
  letter: Omit<DeadLetter, "kind">,
): Promise<void> {
  const message: DeadLetter = { kind: "dead_letter", ...letter };
  await env.DEAD_LETTERS.send(message, { contentType: "json" });
}
