// A board's public live view, for an iframe on a studio's site: /embed/<board>?period=&limit=
// (or /embed/?board=<board>). No credential: it reads the public API and the live WebSocket, so a
// private board is refused exactly as it is to any anonymous reader.
const params = new URLSearchParams(location.search);
const fromPath = decodeURIComponent(
  location.pathname.replace(/^\/embed\/?/, "").split("/")[0] ?? "",
);
const board = fromPath || params.get("board") || "";
const period = params.get("period") ?? "";
const limit = Math.min(100, Math.max(1, Number(params.get("limit")) || 10));
const list = document.getElementById("entries");
const status = document.getElementById("status");
let rows = [];
let delay = 1000;

function render(changed) {
  const marks = new Set(changed.map((row) => row.rank));
  list.replaceChildren(
    ...rows.filter(Boolean).map((row) => {
      const li = document.createElement("li");
      if (marks.has(row.rank)) li.className = "changed";
      const rank = document.createElement("span");
      rank.className = "rank";
      rank.textContent = String(row.rank);
      const name = document.createElement("span");
      name.textContent = row.displayName ?? row.playerId;
      const score = document.createElement("span");
      score.className = "score";
      score.textContent = row.score.toLocaleString("en-US");
      li.append(rank, name, score);
      return li;
    }),
  );
}

async function explainRefusal() {
  // The socket's refusal carries no reason a page can read: the same read over HTTP tells it.
  const query = new URLSearchParams({ limit: "1", ...(period ? { period } : {}) });
  const res = await fetch(`/v1/leaderboards/${encodeURIComponent(board)}?${query}`);
  if (res.status === 404) return "This leaderboard does not exist.";
  if (res.status === 401 || res.status === 403) return "This leaderboard is not public.";
  return null;
}

function connect() {
  const url = new URL(`/v1/leaderboards/${encodeURIComponent(board)}/live`, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.search = new URLSearchParams({
    limit: String(limit),
    ...(period ? { period } : {}),
  }).toString();
  const socket = new WebSocket(url);
  let opened = false;
  socket.onopen = () => {
    opened = true;
    delay = 1000;
    status.textContent = "Live";
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    let changed = [];
    if (message.type === "snapshot" || message.type === "update") rows = message.entries;
    else if (message.type === "delta") {
      rows = rows.slice(0, message.size);
      for (const row of message.rows) rows[row.rank - 1] = row;
      changed = message.rows;
    } else return;
    render(changed);
    status.textContent = `Live · ${message.total.toLocaleString("en-US")} players`;
  };
  socket.onclose = async () => {
    if (!opened) {
      const reason = await explainRefusal().catch(() => null);
      if (reason) {
        status.textContent = reason;
        return;
      }
    }
    status.textContent = "Reconnecting…";
    setTimeout(connect, delay);
    delay = Math.min(10_000, delay * 2);
  };
}

if (!board) status.textContent = "No board: use /embed/<board>.";
else {
  document.getElementById("title").textContent = board;
  document.title = `${board} · live leaderboard`;
  connect();
}
