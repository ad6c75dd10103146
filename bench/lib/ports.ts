import { createServer } from "node:net";

/** A port that is free on 127.0.0.1 right now (the kernel's pick), for servers the bench starts. */
export function getPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", (error) =>
      reject(new Error(`no free local port (${error.message}): free some ports and run again`)),
    );
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolvePort(port));
    });
  });
}
