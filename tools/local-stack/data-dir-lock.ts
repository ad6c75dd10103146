import { open, readFile, rm } from "node:fs/promises";

/**
 * One process per PGlite data folder: PGlite has no lock of its own, and two processes writing the
 * same folder (say `npm run dev` and `npm run db:migrate`) corrupt it. Returns the release
 * function.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  // Beside the folder, not in it: the folder belongs to Postgres.
  const path = `${dataDir.replace(/[\\/]+$/, "")}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      await handle.writeFile(String(process.pid));
      await handle.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new Error(
          `${dataDir} is in use by process ${pid} (probably \`npm run dev\`): stop it first, or let it do the work (npm run dev applies migrations on start)`,
        );
      }
      // Left behind by a process that died without cleaning up.
      await rm(path, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}: remove ${path} if no other process uses the folder`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
