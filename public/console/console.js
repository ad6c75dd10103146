// The operator console: plain DOM, no build step. The admin key is typed in, kept in this tab's
// sessionStorage, and sent as a bearer credential to the admin API; nothing secret is served.
const KEY = "edgeboard.adminKey";
const $ = (selector) => document.querySelector(selector);
const state = { socket: null, poll: null, ingestTimer: null, samples: [], charts: {} };

function key() {
  return sessionStorage.getItem(KEY) ?? "";
}

/** fetch() with the admin key; throws the API's error message on a non-2xx answer. */
async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: {
      authorization: `Bearer ${key()}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
  const body = res.headers.get("content-type")?.includes("json") ? await res.json() : null;
  if (!res.ok) {
    const error = new Error(body?.error?.message ?? `${res.status} ${res.statusText}`);
    error.status = res.status;
    throw error;
  }
  return body;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillRows(tbody, entries, highlight) {
  tbody.replaceChildren(
    ...entries.map((entry) => {
      const tr = document.createElement("tr");
      if (entry.playerId === highlight) tr.className = "me";
      tr.append(
        cell(String(entry.rank), "num"),
        cell(entry.displayName ? `${entry.displayName} (${entry.playerId})` : entry.playerId),
        cell(entry.score.toLocaleString("en-US"), "num"),
      );
      return tr;
    }),
  );
}

// ------------------------------------------------------------------ sign-in and navigation

async function signIn(candidate) {
  sessionStorage.setItem(KEY, candidate);
  try {
    await loadBoards();
  } catch (error) {
    sessionStorage.removeItem(KEY);
    $("#key-error").textContent =
      error.status === 401 || error.status === 403 ? "That key was refused." : error.message;
    return;
  }
  $("#key-error").textContent = "";
  $("#sign-in").hidden = true;
  $("#nav").hidden = false;
  show("boards");
}

function show(view) {
  for (const button of document.querySelectorAll("nav [data-view]"))
    button.classList.toggle("active", button.dataset.view === view);
  for (const section of document.querySelectorAll(".view"))
    section.hidden = section.id !== `view-${view}`;
  clearInterval(state.ingestTimer);
  if (view === "ingestion") startIngestion();
  if (view === "dlq") loadDeadLetters();
}

// ------------------------------------------------------------------ boards: live top-N, lookup

async function loadBoards() {
  const { boards } = await api("/v1/admin/boards?limit=100");
  const select = $("#board");
  select.replaceChildren(
    ...boards.map(
      (board) =>
        new Option(
          board.public ? board.name || board.id : `${board.name || board.id} (private)`,
          board.id,
        ),
    ),
  );
  state.boards = new Map(boards.map((board) => [board.id, board]));
  if (boards.length === 0) $("#live-status").textContent = "No boards yet: POST /v1/admin/boards";
  else selectBoard();
}

function selectBoard() {
  const board = state.boards.get($("#board").value);
  if (!board) return;
  const period = $("#period");
  const previous = period.value;
  period.replaceChildren(...board.periods.map((p) => new Option(p, p)));
  if (board.periods.includes(previous)) period.value = previous;
  $("#embed-link").href = `/embed/${encodeURIComponent(board.id)}?period=${period.value}`;
  follow();
}

/** The live top-N over the board's WebSocket; a private board's socket is refused, so it polls. */
function follow() {
  stopFollowing();
  const board = $("#board").value;
  const period = $("#period").value;
  const limit = Math.min(100, Math.max(1, Number($("#limit").value) || 10));
  const status = $("#live-status");
  const url = new URL(`/v1/leaderboards/${encodeURIComponent(board)}/live`, location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.search = new URLSearchParams({ period, limit: String(limit) }).toString();
  let rows = [];
  let opened = false;
  const socket = new WebSocket(url);
  state.socket = socket;
  status.textContent = "connecting…";
  status.className = "status";
  socket.onopen = () => {
    opened = true;
    status.textContent = "live";
    status.className = "status live";
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "snapshot" || message.type === "update") rows = message.entries;
    else if (message.type === "delta") {
      rows = rows.slice(0, message.size);
      for (const row of message.rows) rows[row.rank - 1] = row;
    } else return;
    fillRows($("#top tbody"), rows.filter(Boolean), $("#player").value);
    $("#top-total").textContent = `${message.total.toLocaleString("en-US")} players`;
  };
  socket.onclose = (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    if (!opened) {
      // A browser socket carries no Authorization header: read through the API instead.
      status.textContent = "polling every 2 s (no public live feed)";
      status.className = "status";
      const read = () =>
        api(`/v1/leaderboards/${encodeURIComponent(board)}?period=${period}&limit=${limit}`)
          .then((page) => {
            fillRows($("#top tbody"), page.entries, $("#player").value);
            $("#top-total").textContent = `${page.total.toLocaleString("en-US")} players`;
          })
          .catch((error) => {
            status.textContent = error.message;
          });
      read();
      state.poll = setInterval(read, 2000);
    } else {
      status.textContent = `disconnected (${event.code}); reconnecting…`;
      status.className = "status";
      state.poll = setTimeout(follow, 2000);
    }
  };
}

function stopFollowing() {
  clearInterval(state.poll);
  clearTimeout(state.poll);
  const socket = state.socket;
  state.socket = null;
  socket?.close();
}

async function lookUp(player) {
  const board = encodeURIComponent($("#board").value);
  const query = `period=${$("#period").value}`;
  const out = $("#player-result");
  try {
    const rank = await api(
      `/v1/leaderboards/${board}/players/${encodeURIComponent(player)}?${query}`,
    );
    out.textContent = `${rank.displayName ?? rank.playerId}: rank ${rank.rank} of ${rank.total}, score ${rank.score.toLocaleString("en-US")} (percentile ${rank.percentile})`;
    const around = await api(
      `/v1/leaderboards/${board}/players/${encodeURIComponent(player)}/around?${query}&n=5`,
    );
    fillRows($("#around tbody"), around.entries, player);
    $("#around").hidden = false;
  } catch (error) {
    out.textContent =
      error.status === 404 ? `${player} has no score on this board-period.` : error.message;
    $("#around").hidden = true;
  }
}

// ------------------------------------------------------------------ ingestion

function chart(id, series, options = {}) {
  const target = $(`#${id}`);
  if (!state.charts[id]) {
    target.replaceChildren();
    state.charts[id] = new globalThis.uPlot(
      {
        width: Math.min(1000, target.clientWidth || 900),
        height: 200,
        series: [
          {},
          ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, ...s.options })),
        ],
        axes: [{}, { size: 60 }],
        ...options,
      },
      [[], ...series.map(() => [])],
      target,
    );
  }
  return state.charts[id];
}

function totals(ingest) {
  const sum = (field) => ingest.queues.reduce((total, queue) => total + queue[field], 0);
  return {
    accepted: sum("accepted"),
    persisted: sum("persisted"),
    rejected: sum("rejected") + sum("outOfRange"),
  };
}

async function sampleIngestion() {
  const [ingest, metrics] = await Promise.all([
    api("/v1/admin/ingest/stats"),
    api("/v1/admin/metrics"),
  ]);
  const now = Date.now() / 1000;
  const sample = { t: now, ...totals(ingest), lag: ingest.consumerLagMs };
  const previous = state.samples.at(-1);
  state.samples.push(sample);
  if (state.samples.length > 360) state.samples.shift();
  const hits = (metrics.cacheHit ?? 0) + (metrics.cacheRevalidated ?? 0);
  const lookups = hits + (metrics.cacheMiss ?? 0) + (metrics.cacheStale ?? 0);
  const cards = [
    ["Accepted (window)", sample.accepted],
    ["Persisted (window)", sample.persisted],
    ["Rejected (window)", sample.rejected],
    ["Dead letters pending", ingest.deadLettersPending],
    [
      "Consumer lag",
      ingest.consumerLagMs === null ? "–" : `${Math.round(ingest.consumerLagMs / 1000)} s`,
    ],
    ["Page cache hit ratio", lookups ? `${((100 * hits) / lookups).toFixed(1)}%` : "–"],
  ];
  $("#ingest-cards").replaceChildren(
    ...cards.map(([label, value]) => {
      const div = document.createElement("div");
      div.className = "card";
      const b = document.createElement("b");
      b.textContent = typeof value === "number" ? value.toLocaleString("en-US") : value;
      div.append(b, label);
      return div;
    }),
  );
  if (!globalThis.uPlot) return;
  const rates = state.samples.slice(1).map((s, i) => {
    const before = state.samples[i];
    const dt = Math.max(1, s.t - before.t);
    return [
      s.t,
      (s.accepted - before.accepted) / dt,
      (s.persisted - before.persisted) / dt,
      (s.rejected - before.rejected) / dt,
    ];
  });
  if (previous) {
    chart("chart-rate", [
      { label: "accepted", color: "#2f6fde" },
      { label: "persisted", color: "#2e9d4f" },
      { label: "rejected", color: "#c62828" },
    ]).setData([0, 1, 2, 3].map((i) => rates.map((r) => r[i])));
  }
  chart("chart-lag", [{ label: "lag ms", color: "#b26a00" }]).setData([
    state.samples.map((s) => s.t),
    state.samples.map((s) => s.lag),
  ]);
}

async function loadHourly() {
  const stats = await api("/v1/admin/stats?granularity=hour");
  const buckets = stats.overall;
  const bars = globalThis.uPlot.paths.bars({ size: [0.6, 40] });
  chart("chart-hourly", [
    { label: "events", color: "#2f6fde", options: { paths: bars, fill: "rgba(47,111,222,.3)" } },
    { label: "players", color: "#2e9d4f" },
  ]).setData([
    buckets.map((b) => Date.parse(b.bucket) / 1000),
    buckets.map((b) => b.events),
    buckets.map((b) => b.players),
  ]);
  $("#stats-note").textContent = stats.rolledUpTo
    ? `Rolled up to ${new Date(stats.rolledUpTo).toLocaleString()}${stats.caughtUp ? "" : " (catching up)"}.`
    : "No rollup has run yet (hourly at :05).";
}

function startIngestion() {
  const tick = () =>
    sampleIngestion().catch((error) => ($("#stats-note").textContent = error.message));
  tick();
  loadHourly().catch((error) => ($("#stats-note").textContent = error.message));
  state.ingestTimer = setInterval(tick, 5000);
}

// ------------------------------------------------------------------ dead letters

async function loadDeadLetters() {
  const status = $("#dlq-status");
  try {
    const { total, deadLetters } = await api("/v1/admin/dlq?limit=100");
    status.textContent = `${total} pending`;
    $("#dlq-empty").hidden = deadLetters.length > 0;
    $("#dlq").hidden = deadLetters.length === 0;
    $("#dlq tbody").replaceChildren(
      ...deadLetters.map((letter) => {
        const tr = document.createElement("tr");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Replay";
        button.onclick = () => replay([letter.id]);
        const action = document.createElement("td");
        action.append(button);
        tr.append(
          cell(String(letter.id), "num"),
          cell(letter.queue),
          cell(letter.messageId),
          cell(String(letter.attempts), "num"),
          cell(new Date(letter.receivedAt).toLocaleString()),
          cell(letter.error, "error-text"),
          action,
        );
        return tr;
      }),
    );
  } catch (error) {
    status.textContent = error.message;
  }
}

async function replay(ids) {
  const status = $("#dlq-status");
  try {
    const result = await api("/v1/admin/dlq/replay", {
      method: "POST",
      body: JSON.stringify(ids ? { ids } : { limit: 1000 }),
    });
    await loadDeadLetters();
    const skipped = result.skipped.map((s) => `#${s.id}: ${s.reason}`).join("; ");
    status.textContent = `Replayed ${result.replayed}${skipped ? `; skipped ${skipped}` : ""}. ${status.textContent}`;
  } catch (error) {
    status.textContent = error.message;
  }
}

// ------------------------------------------------------------------ wiring

$("#key-form").addEventListener("submit", (event) => {
  event.preventDefault();
  signIn($("#key").value.trim());
});
$("#sign-out").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  location.reload();
});
for (const button of document.querySelectorAll("nav [data-view]"))
  button.addEventListener("click", () => show(button.dataset.view));
$("#board").addEventListener("change", selectBoard);
$("#period").addEventListener("change", selectBoard);
$("#limit").addEventListener("change", follow);
$("#player-form").addEventListener("submit", (event) => {
  event.preventDefault();
  lookUp($("#player").value.trim());
});
$("#dlq-refresh").addEventListener("click", loadDeadLetters);
$("#dlq-replay-all").addEventListener("click", () => replay());
if (key()) signIn(key());
