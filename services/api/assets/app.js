// The dashboard: reads everything from /api with the administrator's token (kept for this
// browser session only), follows the open window over Server-Sent Events, and refreshes the
// reports and pipeline panels every 15 seconds.
"use strict";

const TOKEN_KEY = "baocao.token";
const FIELD_LABELS = {
  legal_basis: "Căn cứ",
  propaganda: "Công tác tuyên truyền",
  internal_it_before: "Ứng dụng CNTT nội bộ (trước số liệu văn bản)",
  internal_it_after: "Ứng dụng CNTT nội bộ (sau số liệu văn bản)",
  citizen_services_after: "Dịch vụ công (sau số liệu hồ sơ)",
  strengths: "Ưu điểm",
  limitations_intro: "Hạn chế (mở đầu)",
  limitations: "Hạn chế",
  proposals: "Đề xuất, kiến nghị",
};
const STATE_LABELS = {
  queued: ["Chờ gửi", "warn"], sending: ["Đang gửi", "warn"], retrying: ["Gửi lại sau", "warn"],
  sent: ["Đã gửi", "ok"], failed: ["Thất bại", "bad"],
  superseded: ["Không gửi: đã có bản sửa", ""],
};
// The system each event type comes from, as a ward's officer names it.
const SOURCE_LABELS = {
  document: "Văn phòng điện tử", petition: "Hệ thống phản ánh kiến nghị",
  procedure: "Cổng dịch vụ công", article: "Cổng thông tin điện tử",
};
const EVENT_LABELS = {
  "document.signed": "Văn bản ký ban hành", "petition.received": "Tiếp nhận phản ánh",
  "petition.resolved": "Xử lý phản ánh", "procedure.received": "Tiếp nhận hồ sơ",
  "procedure.resolved": "Giải quyết hồ sơ", "article.published": "Đăng tin, bài",
};

// Why an event was refused, as the officer reads it (SPEC §3.4 reason codes).
const REASON_LABELS = {
  too_large: "Sự kiện quá lớn", malformed: "Không đọc được (không phải JSON)",
  unknown_type: "Loại sự kiện không xác định", unknown_unit: "Mã đơn vị không có trong cấu hình",
  invalid_timestamp: "Thời điểm không hợp lệ", future_timestamp: "Thời điểm ở tương lai",
  broker: "Bị hàng đợi từ chối", wrong_source: "Gửi nhầm hệ thống", unstorable: "Cơ sở dữ liệu không nhận",
  unreadable_frame: "Khung AMQP không đọc được",
};
function reasonLabel(code) {
  if (code.startsWith("invalid_field:")) return `Trường ${code.slice(14)} không hợp lệ`;
  return REASON_LABELS[code] || code;
}

const $ = (id) => document.getElementById(id);
const TZ = "Asia/Ho_Chi_Minh";
let unit = null;
let unitName = "";
// The configured units as /api/units gives them, by code.
const unitsByCode = new Map();
let stream = null;
let trendPoints = [];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== null && value !== undefined && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function toast(text) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 6000);
}

// ---------------------------------------------------------------- the token

function token() { return sessionStorage.getItem(TOKEN_KEY); }

let asking = null;
function askToken(wrong, signIn) {
  if (asking) return asking;
  asking = new Promise((resolve) => {
    const dialog = $("token-dialog");
    // With an identity provider, people sign in there; the token stays for administrators.
    $("sign-in").hidden = !signIn;
    $("token-error").hidden = !wrong;
    // Escape would close the dialog with every request still waiting for a token.
    dialog.oncancel = (event) => event.preventDefault();
    $("token").value = "";
    $("token-form").onsubmit = () => {
      sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
      $("logout").hidden = false;
      asking = null;
      resolve();
    };
    dialog.showModal();
  });
  return asking;
}

async function api(path, options = {}) {
  for (;;) {
    const headers = new Headers(options.headers || {});
    const saved = token();
    if (saved) headers.set("Authorization", "Bearer " + saved);
    const response = await fetch(path, { ...options, headers });
    if (response.status !== 401) return response;
    await askToken(Boolean(saved), response.headers.has("x-baocao-sign-in"));
  }
}

async function json(path, options) {
  const response = await api(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// ---------------------------------------------------------------- numbers as the report writes them

function count(n) { return Number(n).toLocaleString("vi-VN"); }

function share(part, whole) {
  if (!whole) return "không phát sinh";
  // Half-up to two decimals in integers, trailing zeros dropped, as in the report.
  const hundredths = Math.floor((part * 20000 / whole + 1) / 2);
  const text = (hundredths / 100).toFixed(2).replace(/\.?0+$/, "");
  return text + "%";
}

function dig(doc, path) { return path.split(".").reduce((v, k) => (v == null ? v : v[k]), doc); }

function date(text) {
  const d = new Date(text);
  return d.toLocaleString("vi-VN", { timeZone: TZ, hour12: false });
}

function periodName(period) {
  const [y, m] = period.split("-");
  return `tháng ${Number(m)}/${y}`;
}

// ---------------------------------------------------------------- live counters

function showIndicators(doc) {
  // A summary's document carries its members' total: the counters show that.
  if (doc.total) doc = { ...doc, ...doc.total };
  for (const node of document.querySelectorAll("[data-figure]")) {
    const value = dig(doc, node.dataset.figure);
    const text = value == null ? "–" : count(value);
    if (node.textContent !== text) {
      node.textContent = text;
      node.classList.remove("flash");
      void node.offsetWidth;
      node.classList.add("flash");
    }
  }
  for (const node of document.querySelectorAll("[data-share]")) {
    const [part, whole] = node.dataset.share.split("/");
    node.textContent = share(dig(doc, part), dig(doc, whole));
  }
  const start = new Date(doc.window.start), end = new Date(doc.window.end);
  const day = (d) => d.toLocaleDateString("vi-VN", { timeZone: TZ });
  $("counters-title").textContent = `Kỳ đang mở: ${periodName(doc.period)}`;
  $("window").textContent = `Từ ${day(start)} đến hết ngày ${day(new Date(end - 1))}`;
  $("as-of").textContent = "Cập nhật lúc " + new Date().toLocaleTimeString("vi-VN", { timeZone: TZ, hour12: false });
  updateTrend(doc);
}

// Every figure of the unit's counters opens its list of items (SPEC §5.1), for the open window.
function linkFigures() {
  for (const node of document.querySelectorAll("#unit-view [data-figure]")) {
    if (node.closest("button")) continue;
    const button = el("button", { type: "button", class: "figure-link", "data-figure-link": node.dataset.figure,
      title: "Xem danh sách" });
    node.replaceWith(button);
    button.append(node);
    button.onclick = () => openItems(unit, "", node.dataset.figure);
  }
}

// ---------------------------------------------------------------- a figure's items

// The figures as the indicators document names them, grouped as the report groups them; the
// list's columns and titles come from the API.
const FIGURES = [
  ["documents.issued", "Văn bản ban hành"], ["documents.digitally_signed", "Văn bản ký số"],
  ["petitions.carried_over", "Phản ánh kỳ trước chuyển qua"], ["petitions.received", "Phản ánh tiếp nhận"],
  ["petitions.resolved", "Phản ánh đã xử lý"], ["petitions.pending", "Phản ánh đang xử lý"],
  ["procedures.carried_over", "Hồ sơ kỳ trước chuyển qua"], ["procedures.received", "Hồ sơ tiếp nhận"],
  ["procedures.online", "Hồ sơ trực tuyến"], ["procedures.direct", "Hồ sơ trực tiếp"],
  ["procedures.postal", "Hồ sơ bưu chính"], ["procedures.digitized", "Hồ sơ số hóa"],
  ["procedures.resolved", "Hồ sơ đã giải quyết"], ["procedures.resolved_early", "Giải quyết trước hạn"],
  ["procedures.resolved_on_time", "Giải quyết đúng hạn"], ["procedures.resolved_late", "Giải quyết quá hạn"],
  ["procedures.resolved_without_result", "Kết thúc không có kết quả"], ["procedures.pending", "Hồ sơ đang giải quyết"],
  ["procedures.pending_on_time", "Đang giải quyết trong hạn"], ["procedures.pending_overdue", "Đang giải quyết quá hạn"],
  ["articles.published", "Tin, bài đã đăng"],
];
const PER_PAGE = 100;
const items = { code: null, period: "", figure: "", revision: null, page: 1, sort: "id", order: "asc", ticket: 0 };

function itemsQuery(extra) {
  const q = new URLSearchParams({ figure: items.figure, sort: items.sort, order: items.order, ...extra });
  if (items.period) q.set("period", items.period);
  if (items.revision) q.set("revision", items.revision);
  return `/api/units/${encodeURIComponent(items.code)}/items?` + q;
}

// Opens the list of `figure` of unit (or summary) `code` for `period` ("" for the open window),
// as revision `revision` counted it when given (a sent report), else as the figures stand now.
function openItems(code, period, figure, revision) {
  Object.assign(items, { code, period: period || "", figure, revision: revision || null, page: 1, sort: "id", order: "asc" });
  const periods = $("items-period");
  periods.replaceChildren(...[...$("overview-period").options].map((o) => el("option", { value: o.value }, o.textContent)));
  periods.value = items.period;
  if (periods.value !== items.period) periods.append(el("option", { value: items.period }, periodName(items.period)));
  periods.value = items.period;
  periods.onchange = () => { items.period = periods.value; items.revision = null; items.page = 1; loadItems(); };
  const figures = $("items-figure");
  figures.replaceChildren(...FIGURES.map(([path, label]) => el("option", { value: path }, label)));
  figures.value = figure;
  figures.onchange = () => { items.figure = figures.value; items.page = 1; items.sort = "id"; items.order = "asc"; loadItems(); };
  $("items-prev").onclick = () => { items.page -= 1; loadItems(); };
  $("items-next").onclick = () => { items.page += 1; loadItems(); };
  $("items-csv").onclick = () => saveItems("csv");
  $("items-xlsx").onclick = () => saveItems("xlsx");
  $("items-table").replaceChildren();
  $("items-dialog").showModal();
  return loadItems();
}

async function loadItems() {
  const ticket = ++items.ticket;
  $("items-count").textContent = "Đang tải…";
  let page;
  try {
    page = await json(itemsQuery({ page: items.page, per_page: PER_PAGE }));
  } catch (error) {
    $("items-count").textContent = "";
    $("items-note").textContent = error.message;
    $("items-table").replaceChildren();
    return;
  }
  if (ticket !== items.ticket) return;
  const who = unitsByCode.get(items.code)?.name || items.code;
  $("items-title").textContent = `${page.group}: ${page.label} · ${who}`;
  $("items-note").textContent = (page.revision ? `Như khi lập báo cáo lần ${page.revision}` : "Số liệu hiện tại") +
    ` · ${periodName(page.period)}`;
  const first = (page.page - 1) * page.per_page;
  const shown = page.items.length ? `${count(first + 1)}–${count(first + page.items.length)}` : "0";
  $("items-count").textContent = `${shown} mục` + (page.more ? " (còn tiếp)" : "");
  $("items-page").textContent = `Trang ${page.page}`;
  $("items-prev").disabled = page.page <= 1;
  $("items-next").disabled = !page.more;
  const sortable = new Set(["unit", "id", "received_at", "due_at", "resolved_at"]);
  const head = el("tr", {}, ...page.columns.map((c) => {
    const th = el("th", { "data-column": c.name });
    if (!sortable.has(c.name)) { th.textContent = c.title; return th; }
    if (items.sort === c.name) th.setAttribute("aria-sort", items.order === "asc" ? "ascending" : "descending");
    th.append(el("button", { type: "button", onclick: () => {
      items.order = items.sort === c.name && items.order === "asc" ? "desc" : "asc";
      items.sort = c.name;
      items.page = 1;
      loadItems();
    } }, c.title));
    return th;
  }));
  const cell = (item, c) => {
    const value = c.name === "digitally_signed" ? item.digital : item[c.name === "digitized" ? "digital" : c.name];
    if (value == null) return el("td", {});
    if (typeof value === "boolean") return el("td", {}, value ? "có" : "không");
    if (c.name === "days_late") return el("td", { class: "num late" }, count(value));
    if (c.name.endsWith("_at")) return el("td", {}, date(value));
    if (c.name === "channel") return el("td", {}, CHANNELS[value] || value);
    return el("td", {}, String(value));
  };
  const body = page.items.map((item) => el("tr", {}, ...page.columns.map((c) => cell(item, c))));
  if (!body.length) body.push(el("tr", {}, el("td", { colspan: page.columns.length, class: "muted" }, "Không có mục nào")));
  $("items-table").replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, body)));
  document.body.dataset.items = `${page.figure} ${page.items.length}`;
}

const CHANNELS = { online: "Trực tuyến", direct: "Trực tiếp", postal: "Bưu chính" };

async function saveItems(format) {
  const response = await api(itemsQuery({ format }));
  if (!response.ok) return toast("Không tải được: " + ((await response.json().catch(() => ({}))).error || response.statusText));
  const blob = await response.blob();
  const name = `${items.code}-${items.period || "ky-dang-mo"}-${items.figure}.${format}`;
  const link = el("a", { href: URL.createObjectURL(blob), download: name });
  document.body.append(link);
  link.click();
  setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
}

// The open window's point of the trend follows the live counters.
function updateTrend(doc) {
  const last = trendPoints[trendPoints.length - 1];
  if (!last || last.period !== doc.period) return;
  const p = doc.procedures, handled = p.carried_over + p.received;
  const pct = (part, whole) => (whole ? Math.round(part * 10000 / whole) / 100 : null);
  Object.assign(last, {
    received: p.received,
    online_share: pct(p.online, p.received), resolved_share: pct(p.resolved, handled),
    digitized_share: pct(p.digitized, p.received),
    text: { online: share(p.online, p.received), resolved: share(p.resolved, handled), digitized: share(p.digitized, p.received) },
  });
  drawTrend(trendPoints);
}

function liveState(text, kind) {
  const badge = $("live");
  badge.textContent = text;
  badge.className = "badge " + kind;
}

// EventSource cannot send the Authorization header, so the stream is read with fetch; the
// protocol is the same: id, data, retry, and Last-Event-ID when reconnecting.
async function follow(code, signal) {
  let lastId = null, retry = 2000;
  while (!signal.aborted) {
    try {
      const headers = lastId ? { "Last-Event-ID": lastId } : {};
      const response = await api(`/api/units/${encodeURIComponent(code)}/stream`, { headers, signal });
      if (!response.ok) throw new Error(response.statusText);
      liveState("Đã kết nối", "ok");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let data = [], id = null;
          for (const line of block.split("\n")) {
            const colon = line.indexOf(":");
            if (colon === 0) continue;
            const field = colon < 0 ? line : line.slice(0, colon);
            const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "data") data.push(text);
            else if (field === "id") id = text;
            else if (field === "retry" && /^\d+$/.test(text)) retry = Number(text);
          }
          if (id !== null) lastId = id;
          if (data.length) showIndicators(JSON.parse(data.join("\n")));
        }
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    liveState("Mất kết nối, đang thử lại…", "bad");
    await new Promise((resolve) => setTimeout(resolve, retry));
  }
}

// ---------------------------------------------------------------- trend chart

function drawTrend(points) {
  trendPoints = points;
  drawTrendTable(points);
  const box = $("trend");
  box.replaceChildren();
  const width = 900, height = 260, left = 44, right = 36, top = 14, bottom = 36;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const node = (tag, attrs, text) => {
    const n = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    svg.append(n);
    return n;
  };
  const x = (i) => left + (points.length < 2 ? 0 : i * (width - left - right) / (points.length - 1));
  const y = (v) => top + (100 - v) * (height - top - bottom) / 100;
  for (const v of [0, 25, 50, 75, 100]) {
    node("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: "#dde3ea" });
    node("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5f6b7a" }, v + "%");
  }
  points.forEach((p, i) => {
    const [yy, mm] = p.period.split("-");
    node("text", { x: x(i), y: height - 14, "text-anchor": "middle", "font-size": 11, fill: "#5f6b7a" },
      `T${Number(mm)}/${yy}` + (p.final ? "" : "*"));
  });
  const series = [
    ["online_share", "online", "Trực tuyến", "#1f5fa8"],
    ["resolved_share", "resolved", "Đã giải quyết", "#1e7d45"],
    ["digitized_share", "digitized", "Số hóa", "#a86400"],
  ];
  for (const [key, textKey, label, color] of series) {
    let path = "";
    points.forEach((p, i) => {
      const v = p[key];
      if (v == null) return;
      path += (path && points[i - 1] && points[i - 1][key] != null ? "L" : "M") + x(i) + "," + y(v);
    });
    if (path) node("path", { d: path, fill: "none", stroke: color, "stroke-width": 2.5 });
    points.forEach((p, i) => {
      if (p[key] == null) return;
      const dot = node("circle", { cx: x(i), cy: y(p[key]), r: 3.5, fill: color });
      const title = document.createElementNS(ns, "title");
      title.textContent = `${label} ${periodName(p.period)}: ${p.text[textKey]} (${p.received} hồ sơ)`;
      dot.append(title);
    });
  }
  box.append(svg);
  box.append(el("div", { class: "legend" },
    series.map(([, , label, color]) => el("span", {}, el("span", { class: "swatch", style: `background:${color}` }), label)),
    el("span", { class: "muted" }, "* kỳ đang mở"),
    el("span", { class: "muted" }, "Kỳ không phát sinh hồ sơ: bỏ trống, không tính là 0%")));
}

function drawTrendTable(points) {
  $("trend-table").replaceChildren(table(["Kỳ", "Hồ sơ tiếp nhận", "Trực tuyến", "Đã giải quyết", "Số hóa"],
    points.map((p) => el("tr", {}, el("td", {}, periodName(p.period) + (p.final ? "" : " (đang mở)")),
      el("td", { class: "num" }, count(p.received)), el("td", { class: "num" }, p.text.online),
      el("td", { class: "num" }, p.text.resolved), el("td", { class: "num" }, p.text.digitized)))));
}

// ---------------------------------------------------------------- reports

function download(code, period, format) {
  return async () => {
    const response = await api(`/api/units/${code}/reports/${period}?format=${format}`);
    if (!response.ok) return toast("Không tải được: " + ((await response.json().catch(() => ({}))).error || response.statusText));
    const blob = await response.blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: `bao-cao-chuyen-doi-so-${code}-${period}.${format}` });
    document.body.append(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  };
}

function preview(code, period) {
  return async () => {
    const response = await api(`/api/units/${code}/reports/${period}?format=html`);
    if (!response.ok) return toast("Không xem được: " + ((await response.json().catch(() => ({}))).error || response.statusText));
    const which = response.headers.get("x-baocao-report") || "";
    $("preview-title").textContent = `Báo cáo ${periodName(period)}` + (which.startsWith("sent") ? " (bản đã gửi)" : " (dự thảo)");
    $("preview-frame").srcdoc = await response.text();
    $("preview-dialog").showModal();
  };
}

function confirmAction(title, text, okLabel) {
  return new Promise((resolve) => {
    const dialog = $("confirm-dialog");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    dialog.onclose = () => resolve(dialog.returnValue === "ok");
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// What the API's refusal codes mean, as the officer reads them.
const SEND_ERRORS = {
  already_sent: "Báo cáo kỳ này đã được gửi.",
  window_open: "Kỳ báo cáo chưa kết thúc.",
  no_events: "Kỳ này không có sự kiện nào: không có báo cáo để gửi.",
  stale_revision: "Đã có người gửi một bản sửa khác trong lúc này; xem lại danh sách trước khi gửi.",
  signing_unavailable: "Chứng thư số của đơn vị không dùng được: báo cáo được giữ lại, không gửi khi chưa ký số.",
  503: "Cơ sở dữ liệu tạm thời không truy cập được; vui lòng thử lại sau ít phút.",
};

// Where the report of the period that closed last stands (the reporter's one judgement), and
// whether it can be sent by hand.
function planText(plan) {
  switch (plan.state) {
    case "scheduled": return ["Chưa gửi", "warn", `Kỳ đã kết thúc; báo cáo sẽ tự gửi lúc ${date(plan.send_at)}`, true];
    case "due": return ["Đến hạn", "warn", "Đã đến giờ gửi; hệ thống sẽ lập và gửi báo cáo trong ít phút", true];
    case "waiting": return ["Đang chờ", "warn",
      `Đã đến giờ gửi nhưng còn chờ nhận hết sự kiện (${plan.why}); gửi chậm nhất lúc ${date(plan.until)}`, true];
    case "held": return ["Bị giữ lại", "bad",
      `Chứng thư số của đơn vị không dùng được nên báo cáo chưa được lập (không gửi báo cáo chưa ký số): ${plan.cause}`, false];
    case "failing": return ["Gửi lỗi", "bad",
      `Lập báo cáo tự động bị lỗi từ ${date(plan.since)} (${plan.attempts} lần): ${plan.error}`, true];
    case "no_events": return ["Không gửi", "", "Kỳ này không có sự kiện nào: không có báo cáo để gửi", false];
    case "skipped_empty": return ["Không tự gửi", "warn",
      "Đến ngày gửi kỳ này chưa có sự kiện nên không tự gửi; nay đã có sự kiện, có thể gửi bằng tay", true];
    case "before_configured": return ["Không gửi", "",
      "Kỳ này kết thúc trước khi hệ thống được dùng cho đơn vị: không tự gửi", true];
    default: return ["Chưa gửi", "warn", "Kỳ đã kết thúc", true];
  }
}

function sendReport(code, period, force, scheduledAt, replaces) {
  return async () => {
    const early = !force && scheduledAt && new Date(scheduledAt) > new Date()
      ? ` Lịch gửi tự động là ${date(scheduledAt)}; sự kiện đến muộn sau khi gửi sẽ cần một bản sửa.`
      : "";
    const ok = await confirmAction(
      force ? "Gửi lại báo cáo đã sửa?" : "Gửi báo cáo?",
      force
        ? `Một bản sửa của báo cáo ${periodName(period)} sẽ được lập với số liệu hiện tại, thay thế bản đã gửi, và gửi tới toàn bộ nơi nhận.`
        : `Báo cáo ${periodName(period)} sẽ được lập với số liệu hiện tại và gửi tới toàn bộ nơi nhận.` + early,
      force ? "Gửi lại" : "Gửi");
    if (!ok) return;
    const response = await api(`/api/units/${code}/reports/${period}/send`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      // A correction names the revision it replaces: a second click is refused, not a second correction.
      body: JSON.stringify(force ? { force, replaces } : { force }),
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      toast("Không gửi được: " + (SEND_ERRORS[body.code] || SEND_ERRORS[response.status] || body.error || response.statusText));
      refreshReports();
      return;
    }
    toast(`Đã lập lần ${body.revision}` + (body.number ? ` (số ${body.number})` : "") + `, ${body.messages} thư đang chờ gửi.`);
    refreshReports();
  };
}

async function editNarrative(code, period) {
  const fields = await json(`/api/units/${code}/reports/${period}/narrative`);
  $("narrative-title").textContent = `Sửa nội dung báo cáo ${periodName(period)}`;
  const box = $("narrative-fields");
  box.replaceChildren();
  for (const field of fields) {
    const area = el("textarea", { "aria-label": FIELD_LABELS[field.field] || field.field });
    area.value = field.paragraphs.join("\n\n");
    const status = el("span", { class: "muted small" }, field.edited ? "đã sửa cho kỳ này" : "theo cấu hình");
    const save = async (action) => {
      try {
        const updated = await json(`/api/units/${code}/reports/${period}/narrative`, {
          method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ field: field.field, action, text: area.value }),
        });
        const now = updated.find((f) => f.field === field.field);
        area.value = now.paragraphs.join("\n\n");
        status.textContent = now.edited ? "đã lưu cho kỳ này" : "theo cấu hình";
      } catch (error) { toast("Không lưu được: " + error.message); }
    };
    box.append(el("div", { class: "field" },
      el("div", { class: "head" }, el("h3", {}, FIELD_LABELS[field.field] || field.field), status),
      area,
      el("div", { class: "actions" },
        el("button", { type: "button", class: "primary", onclick: () => save("replace") }, "Lưu"),
        el("button", { type: "button", onclick: () => save("reset") }, "Khôi phục"))));
  }
  $("narrative-dialog").showModal();
}

function deliveryChips(deliveries) {
  return el("div", { class: "chips" }, deliveries.map((d) => {
    const [label, kind] = STATE_LABELS[d.state] || [d.state, ""];
    let detail = "";
    if (d.state === "sent" && d.sent_at) detail = " " + date(d.sent_at);
    if (d.state === "retrying") detail = ` (lần ${d.attempts}, thử lại ${date(d.next_attempt_at)})`;
    if (d.state === "failed") detail = ` sau ${d.attempts} lần`;
    return el("span", { title: (d.address + (d.last_error ? "\n" + d.last_error : "")) },
      el("span", { class: "badge " + kind }, label), " ", d.label || d.address,
      d.label ? el("span", { class: "muted small" }, " · " + d.address) : null,
      el("span", { class: "muted small" }, detail));
  }));
}

async function refreshReports() {
  const code = unit;
  const view = await json(`/api/units/${code}/reports`);
  const rows = [];
  const actions = (period, extra) => el("div", { class: "actions" },
    el("button", { type: "button", onclick: preview(code, period) }, "Xem"),
    el("button", { type: "button", onclick: download(code, period, "docx") }, "DOCX"),
    el("button", { type: "button", onclick: download(code, period, "pdf") }, "PDF"),
    el("button", { type: "button", onclick: () => editNarrative(code, period).catch((e) => toast(e.message)) }, "Sửa nội dung"),
    extra);
  rows.push(el("tr", {},
    el("td", {}, periodName(view.open_period)), el("td", {}, el("span", { class: "badge" }, "Dự thảo")),
    el("td", {}, "Kỳ đang mở, số liệu đến hiện tại"), el("td", {}, actions(view.open_period))));
  if (!view.periods.some((p) => p.period === view.last_closed_period)) {
    const [badge, kind, text, sendable] = planText(view.last_closed_plan || {});
    rows.push(el("tr", {},
      el("td", {}, periodName(view.last_closed_period)), el("td", {}, el("span", { class: "badge " + kind }, badge),
        el("div", {}, el("button", { type: "button", class: "figure-link", "data-overdue": view.last_closed_period,
          onclick: () => openItems(code, view.last_closed_period, "procedures.pending_overdue") }, "Hồ sơ quá hạn"))),
      el("td", {}, text),
      el("td", {}, actions(view.last_closed_period, sendable
        ? el("button", { type: "button", class: "primary", onclick: sendReport(code, view.last_closed_period, false, view.last_closed_send_at) }, "Gửi ngay")
        : null))));
  }
  for (const p of view.periods) {
    p.revisions.slice().reverse().forEach((r, i) => {
      const latest = i === 0;
      const badges = [el("span", { class: "badge ok" }, `Lần ${r.revision}` + (r.number ? ` · Số ${r.number}` : ""))];
      if (r.signed_by) badges.push(" ", el("span", { class: "badge", title: `Ký bởi ${r.signed_by}; chứng thư có hiệu lực đến ${date(r.signature_valid_until)}` + (r.timestamped ? "; có dấu thời gian" : "") }, "Đã ký số"));
      if (latest && p.out_of_date) badges.push(" ", el("span", { class: "badge bad", title: "Có sự kiện đến sau khi gửi làm thay đổi số liệu; gửi lại bản sửa để cập nhật" }, "Số liệu đã thay đổi sau khi gửi"));
      const overdue = r.indicators?.procedures?.pending_overdue ?? r.indicators?.total?.procedures?.pending_overdue;
      badges.push(el("div", {}, el("button", { type: "button", class: "figure-link", "data-overdue": p.period,
        onclick: () => openItems(code, p.period, "procedures.pending_overdue", r.revision) },
        `Hồ sơ quá hạn` + (overdue == null ? "" : `: ${count(overdue)}`))));
      rows.push(el("tr", {},
        el("td", {}, latest ? periodName(p.period) : ""),
        el("td", {}, badges, el("div", { class: "muted small" }, "ngày " + r.issued_on.split("-").reverse().join("/"))),
        el("td", {}, deliveryChips(r.deliveries)),
        el("td", {}, latest ? actions(p.period,
          el("button", { type: "button", class: p.out_of_date ? "primary" : "danger", onclick: sendReport(code, p.period, true, null, r.revision) }, "Gửi lại bản sửa")) : "")));
    });
  }
  $("reports").replaceChildren(el("table", {},
    el("thead", {}, el("tr", {}, el("th", {}, "Kỳ"), el("th", {}, "Lần gửi"), el("th", {}, "Tình trạng gửi tới nơi nhận"), el("th", {}, "Thao tác"))),
    el("tbody", {}, rows)));
}

// ---------------------------------------------------------------- pipeline

function table(headers, rows) {
  return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colspan: headers.length, class: "muted" }, "Không có"))));
}

// Who is asking (GET /api/me): the pipeline's panel is the department's, and writes are the
// editors'.
let me = { kind: "admin", roles: [{ role: "editor", unit: "all" }], signed_in: false };
const department = () => me.roles.some((r) => r.unit === "all");

async function refreshAudit() {
  const code = unit;
  const rows = await json(`/api/audit?unit=${encodeURIComponent(code)}&limit=20`);
  const ACTIONS = { narrative_edit: "Sửa nội dung", send: "Gửi báo cáo", correction: "Gửi bản sửa" };
  $("audit").replaceChildren(table(["Lúc", "Người", "Kỳ", "Việc", "Chi tiết"], rows.map((r) => el("tr", { "data-action": r.action },
    el("td", {}, date(r.at)), el("td", { title: r.who }, r.who_name || r.who), el("td", {}, periodName(r.period)),
    el("td", {}, ACTIONS[r.action] || r.action), el("td", {}, r.detail)))));
}

async function refreshPipeline() {
  if (!department()) return;
  const view = await json("/api/pipeline");
  $("pipeline-as-of").textContent = "Đọc lúc " + date(view.as_of);
  $("queues").replaceChildren(view.broker_error
    ? el("p", { class: "error" }, "Không đọc được hàng đợi: " + view.broker_error)
    : table(["Hàng đợi", "Sự kiện đang chờ", "Tiến trình nhận"], view.queues.map((q) => el("tr", {},
      el("td", {}, q.queue), el("td", { class: "num" }, q.messages), el("td", { class: "num" }, q.consumers)))));
  const mine = view.units.filter((u) => u.unit === unit);
  $("data").replaceChildren(table(["Đơn vị", "Sự kiện", "Thiếu sự kiện tiếp nhận", "Xung đột", "Văn bản bị thu hồi"], mine.map((u) => el("tr", {},
    el("td", {}, unitName), el("td", { class: "num" }, count(u.events)),
    el("td", { class: "num", title: "Hồ sơ, phản ánh có sự kiện giải quyết nhưng chưa có sự kiện tiếp nhận" }, u.orphans),
    el("td", { class: "num", title: "Sự kiện trùng mã khác nội dung, hoặc sự kiện thứ hai cho cùng một đối tượng" }, u.conflicts),
    el("td", { class: "num", title: "Văn bản đi mà cơ quan gửi đã thu hồi (edXML): vẫn tính là đã ban hành" }, u.recalled)))));
  $("sources").replaceChildren(table(["Nguồn", "Loại sự kiện", "Số sự kiện", "Nhận lần cuối"],
    mine.flatMap((u) => u.sources).map((s) => el("tr", {},
      el("td", {}, SOURCE_LABELS[s.event_type.split(".")[0]] || s.source),
      el("td", {}, EVENT_LABELS[s.event_type] || s.event_type),
      el("td", { class: "num" }, s.events), el("td", {}, date(s.last_stored_at))))));
  $("outbox").replaceChildren(table(["Trạng thái", "Số thư"], view.outbox.map((o) => el("tr", {},
    el("td", {}, el("span", { class: "badge " + ((STATE_LABELS[o.state] || [])[1] || "") }, (STATE_LABELS[o.state] || [o.state])[0])),
    el("td", { class: "num" }, o.count)))));
  $("failures").replaceChildren(table(["Đơn vị", "Kỳ", "Lỗi từ", "Số lần", "Lỗi"], (view.failures || []).map((f) => el("tr", {},
    el("td", {}, f.unit), el("td", {}, periodName(f.period)), el("td", {}, date(f.since)),
    el("td", { class: "num" }, f.attempts), el("td", { class: "error" }, f.error)))));
  $("held").replaceChildren(table(["Đơn vị", "Chứng thư số không dùng được"], (view.held || []).map((h) => el("tr", {},
    el("td", {}, h.unit), el("td", { class: "error" }, h.cause)))));
  $("feeds").replaceChildren(table(["Nguồn", "Định dạng", "Gói gần nhất", "Số bản ghi", "Từ chối hôm nay", "Tình trạng"],
    (view.sources || []).map((f) => el("tr", {},
      el("td", {}, f.source),
      el("td", {}, f.dialects.join(", ")),
      el("td", {}, f.last_body_at ? date(f.last_body_at) : "chưa nhận"),
      el("td", { class: "num" }, f.last_records == null ? "–" : count(f.last_records)),
      el("td", {}, f.refused_today.length
        ? f.refused_today.map((r) => `${reasonLabel(r.reason)}: ${count(r.count)}`).join("; ") : "0"),
      el("td", { class: f.problem || f.silent ? "error" : "" },
        f.problem ? "Không nhận được: " + f.problem
          : f.silent ? "Im lặng trong giờ làm việc" : "Bình thường")))));
  try {
    const dead = await json("/api/dead-letters?limit=5");
    const waiting = dead.messages == null ? "không đọc được" : count(dead.messages);
    $("dead").replaceChildren(
      el("p", {}, `Đang nằm trong hàng đợi ${dead.queue}: ${waiting}` +
        (dead.messages ? " (sau khi sửa nguyên nhân, chạy baocao dead-letters replay để nhận lại)" : "")),
      table(["Lý do (từ trước đến nay)", "Số sự kiện", "Lần gần nhất"], dead.by_reason.map((r) => el("tr", {},
        el("td", { title: r.reason }, reasonLabel(r.reason)), el("td", { class: "num" }, count(r.count)),
        el("td", {}, date(r.last_at))))),
      dead.letters.map((l) => el("details", {},
        el("summary", {}, `${date(l.rejected_at)} · ${reasonLabel(l.reason)}`),
        el("pre", {}, `${l.detail}\n${l.exchange} ${l.routing_key} (${count(l.body_bytes)} byte)\n${l.body}`))));
  } catch (error) {
    $("dead").replaceChildren(el("p", { class: "error" }, "Không đọc được danh sách sự kiện bị từ chối: " + error.message));
  }
}

// ---------------------------------------------------------------- the department's view

// A report's state as the department reads it (the reporter's one judgement, as `report status`
// says it): label, colour, and rank when sorting by it (what needs someone first).
const REPORT_STATES = {
  held: ["Bị giữ lại", "bad", 0],
  failing: ["Lỗi lập", "bad", 0],
  undelivered: ["Lỗi gửi", "bad", 0],
  out_of_date: ["Cần gửi lại", "warn", 1],
  waiting: ["Đang chờ", "info", 2],
  due: ["Đến hạn", "info", 2],
  skipped_empty: ["Không tự gửi", "warn", 2],
  issued: ["Đã lập", "info", 3],
  sent: ["Đã gửi", "ok", 4],
  open: ["Chưa đến hạn", "", 5],
  scheduled: ["Chưa đến hạn", "", 5],
  no_events: ["Không có báo cáo", "none", 6],
  before_configured: ["Không có báo cáo", "none", 6],
};

function revisionText(r) {
  return `lần ${r.revision}` + (r.number ? `, số ${r.number}` : "");
}

// What a report's state rests on, for its label's tooltip.
function reportDetail(r) {
  const m = r.messages || {};
  switch (r.state) {
    case "open":
    case "scheduled": return `Gửi theo lịch lúc ${date(r.send_at)}`;
    case "due": return `Đã đến giờ gửi (${date(r.send_at)}); hệ thống sẽ lập và gửi báo cáo trong ít phút`;
    case "waiting": return `Đã đến giờ gửi, đang chờ nhận hết sự kiện (${r.why}); gửi chậm nhất lúc ${date(r.until)}`;
    case "held": return `Chứng thư số không dùng được, báo cáo được giữ lại: ${r.cause}`;
    case "failing": return `Lập báo cáo tự động bị lỗi từ ${date(r.since)} (${r.attempts} lần): ${r.error}`;
    case "issued": return `Đã lập ${revisionText(r)}; ${m.queued + m.sending + m.retrying} thư đang chờ gửi, ${m.sent} thư đã gửi`;
    case "sent": return `Đã gửi ${revisionText(r)} tới ${m.sent} địa chỉ`;
    case "undelivered": return `${m.failed} thư bị máy chủ thư từ chối (${revisionText(r)})`;
    case "out_of_date": return `Có sự kiện đến sau khi gửi ${revisionText(r)} làm thay đổi số liệu; cần gửi lại bản sửa`;
    case "skipped_empty": return "Đến ngày gửi kỳ này chưa có sự kiện nên không tự gửi; nay đã có sự kiện, có thể gửi bằng tay";
    case "no_events": return "Kỳ này không có sự kiện: không có báo cáo";
    case "before_configured": return "Kỳ này kết thúc trước khi hệ thống được dùng cho đơn vị: không có báo cáo";
    default: return "";
  }
}

function stateBadge(report) {
  const [label, kind] = REPORT_STATES[report.state] || [report.state, ""];
  return el("span", { class: "badge " + kind, title: reportDetail(report), "data-state": report.state }, label);
}

// A share as the report writes it; "–" when its denominator is 0 (không phát sinh).
function shareCell(s) {
  if (s.percent == null) return el("td", { class: "num muted", title: "Không phát sinh" }, "–");
  return el("td", { class: "num", title: `${count(s.part)}/${count(s.whole)}` }, share(s.part, s.whole));
}

// How each column sorts, and which way a first click sorts it: counts and shares from the most,
// text, order and state from the first.
const SORT_KEYS = {
  order: [(row) => row.order, 1],
  name: [(row) => row.name, 1],
  dossiers: [(row) => row.figures.dossiers_received, -1],
  online: [(row) => row.figures.online.percent, -1],
  on_time: [(row) => row.figures.on_time.percent, -1],
  overdue: [(row) => row.figures.pending_overdue, -1],
  signed: [(row) => row.figures.documents_signed.percent, -1],
  petitions: [(row) => row.figures.petitions_received, -1],
  state: [(row) => (REPORT_STATES[row.report.state] || [, , 9])[2], 1],
};

const overview = { period: "", data: null, rows: [], sort: { key: "order", dir: 1 }, loading: 0 };

// Rows with no value (a share without a denominator) go last whichever the direction; ties keep
// the configuration's order.
function compareRows(key, dir) {
  const [value] = SORT_KEYS[key];
  return (a, b) => {
    const va = value(a), vb = value(b);
    if (va == null || vb == null) return (va == null) - (vb == null) || a.order - b.order;
    const c = typeof va === "string" ? va.localeCompare(vb, "vi") : va - vb;
    return c * dir || a.order - b.order;
  };
}

function sortOverview(key) {
  const sort = overview.sort;
  sort.dir = sort.key === key ? -sort.dir : SORT_KEYS[key][1];
  sort.key = key;
  applySort();
}

function applySort() {
  const { key, dir } = overview.sort;
  for (const th of document.querySelectorAll("#overview-table th[data-key]")) {
    if (th.dataset.key === key) th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    else th.removeAttribute("aria-sort");
  }
  const sorted = overview.rows.slice().sort(compareRows(key, dir));
  document.querySelector("#overview-table tbody").replaceChildren(...sorted.map((row) => row.node));
}

function unitLink(code) { return "#unit=" + encodeURIComponent(code); }

// "UBND phường An Phú" → "phường An Phú": the table says whose figures, not who signs.
function plainName(name) { return name.replace(/^UBND\s+/i, ""); }

// A count of the department's view that opens its list for the period shown.
function figureButton(code, figure, value) {
  return el("button", { type: "button", class: "figure-link", "data-figure-link": figure, title: "Xem danh sách",
    onclick: () => openItems(code, overview.data?.period || "", figure) }, count(value));
}

function overviewRow(unitRow, order) {
  const f = unitRow.figures;
  const row = { ...unitRow, order, name: plainName(unitRow.name) };
  row.node = el("tr", { "data-code": unitRow.code, onclick: (event) => {
    if (!event.target.closest("a, button")) location.hash = unitLink(unitRow.code);
  } },
    el("td", { class: "num muted" }, order + 1),
    el("td", { class: "name" }, el("a", { href: unitLink(unitRow.code), title: unitRow.name }, row.name)),
    el("td", { class: "num" }, figureButton(unitRow.code, "procedures.received", f.dossiers_received)),
    shareCell(f.online),
    shareCell(f.on_time),
    el("td", { class: f.pending_overdue ? "num alert" : "num" }, figureButton(unitRow.code, "procedures.pending_overdue", f.pending_overdue)),
    shareCell(f.documents_signed),
    el("td", { class: "num" }, figureButton(unitRow.code, "petitions.received", f.petitions_received)),
    el("td", {}, stateBadge(unitRow.report)));
  return row;
}

function summaryCard(s, period, isFinal) {
  const f = s.figures, r = s.report;
  const pct = (x) => (x.percent == null ? "không phát sinh" : share(x.part, x.whole));
  return el("article", { class: "summary-card", "data-code": s.code },
    el("div", { class: "head" }, el("h3", {}, s.name), stateBadge(r)),
    el("p", { class: "small" }, `Báo cáo tổng hợp ${periodName(period)}` +
      (r.revision ? ` · ${revisionText(r)} · ngày ${r.issued_on.split("-").reverse().join("/")}` : ` · gửi theo lịch ${date(r.send_at)}`)),
    el("p", {}, "Đơn vị đã lập báo cáo: ", el("b", {}, `${s.members_issued}/${s.members}`)),
    el("p", { class: "small" }, "Hồ sơ tiếp nhận ", figureButton(s.code, "procedures.received", f.dossiers_received),
      `, trực tuyến ${pct(f.online)}, đúng hạn ${pct(f.on_time)}, quá hạn `,
      figureButton(s.code, "procedures.pending_overdue", f.pending_overdue),
      `; văn bản ký số ${pct(f.documents_signed)}; phản ánh `,
      figureButton(s.code, "petitions.received", f.petitions_received)),
    el("div", { class: "actions" },
      el("button", { type: "button", onclick: preview(s.code, period) }, isFinal && r.revision ? "Xem bản đã gửi" : "Xem dự thảo"),
      el("button", { type: "button", onclick: download(s.code, period, "docx") }, "DOCX"),
      el("button", { type: "button", onclick: download(s.code, period, "pdf") }, "PDF")));
}

function showOverviewData(data) {
  overview.data = data;
  const title = `Toàn tỉnh: ${periodName(data.period)}` + (data.final ? "" : " (kỳ đang mở)");
  $("overview-title").textContent = title;
  const start = new Date(data.window.start), end = new Date(data.window.end);
  const day = (d) => d.toLocaleDateString("vi-VN", { timeZone: TZ });
  $("overview-window").textContent = `Từ ${day(start)} đến hết ngày ${day(new Date(end - 1))}` +
    (data.final ? "" : ", số liệu đến hiện tại");
  $("overview-as-of").textContent = "Đọc lúc " + date(data.as_of);
  overview.rows = data.units.map(overviewRow);
  applySort();
  const t = data.total;
  const totalShare = (s) => (s.percent == null ? el("td", { class: "num muted" }, "–") : el("td", { class: "num" }, share(s.part, s.whole)));
  document.querySelector("#overview-table tfoot").replaceChildren(el("tr", {},
    el("td", {}), el("td", {}, `Tổng cộng (${data.units.length} đơn vị)`),
    el("td", { class: "num" }, count(t.dossiers_received)), totalShare(t.online), totalShare(t.on_time),
    el("td", { class: "num" }, count(t.pending_overdue)), totalShare(t.documents_signed),
    el("td", { class: "num" }, count(t.petitions_received)), el("td", {})));
  // Counted by label: open and scheduled are both "Chưa đến hạn", and so on.
  const counts = new Map();
  for (const u of data.units) {
    const [label, kind] = REPORT_STATES[u.report.state] || [u.report.state, ""];
    const [, n] = counts.get(label) || [kind, 0];
    counts.set(label, [kind, n + 1]);
  }
  $("overview-states").replaceChildren("Báo cáo của các đơn vị: ", ...[...counts]
    .map(([label, [kind, n]]) => el("span", { class: "badge " + kind }, `${label}: ${n}`)));
  $("overview-summaries").replaceChildren(...data.summaries.map((s) => summaryCard(s, data.period, data.final)));
  document.body.dataset.overview = data.period;
}

async function loadOverview(period) {
  const ticket = ++overview.loading;
  const data = await json("/api/overview" + (period ? `?period=${encodeURIComponent(period)}` : ""));
  if (ticket === overview.loading && view === "overview") showOverviewData(data);
}

// The open window and the 24 periods before it.
function fillPeriods(open) {
  const picker = $("overview-period");
  let [y, m] = open.split("-").map(Number);
  const options = [];
  for (let i = 0; i < 25; i += 1) {
    const p = `${y}-${String(m).padStart(2, "0")}`;
    options.push(el("option", { value: i ? p : "" }, i ? periodName(p) : `Kỳ đang mở (${periodName(p)})`));
    m -= 1;
    if (!m) { m = 12; y -= 1; }
  }
  picker.replaceChildren(...options);
  picker.onchange = () => { location.hash = "view=overview" + (picker.value ? "&period=" + picker.value : ""); };
}

// ---------------------------------------------------------------- views

// "#view=overview[&period=YYYY-MM]" is the department's view, "#unit=<code>" a unit's; without
// either, the department's view when several units are configured, else the unit's.
let view = null;

async function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  const code = params.get("unit");
  if (code && unitsByCode.has(code)) return showUnitView(code);
  if (params.get("view") === "overview" || (!code && unitsByCode.size > 1)) return showOverview(params.get("period") || "");
  const first = unitsByCode.keys().next().value;
  if (first) return showUnitView(first);
}

function setView(which) {
  view = which;
  $("overview-view").hidden = which !== "overview";
  $("unit-view").hidden = which !== "unit";
  $("live").hidden = which !== "unit";
  $("to-overview").classList.toggle("active", which === "overview");
  $("to-overview").setAttribute("aria-current", which === "overview" ? "page" : "false");
}

async function showOverview(period) {
  setView("overview");
  // The unit's live stream is not shown: it is closed until a unit is opened again.
  if (stream) { stream.abort(); stream = null; }
  unit = null;
  $("unit").value = "";
  $("overview-period").value = period;
  if ($("overview-period").value !== period) $("overview-period").value = "";
  overview.period = $("overview-period").value;
  await loadOverview(overview.period);
}

async function showUnitView(code) {
  setView("unit");
  $("unit").value = code;
  window.scrollTo(0, 0);
  await selectUnit(code);
}

// ---------------------------------------------------------------- start

// The unit's signing certificate: who signs its reports and until when; a warning within 30 days
// of its end.
function showCertificate(info) {
  const box = $("certificate");
  const cert = info && info.certificate;
  if (!cert) {
    box.replaceChildren(el("span", { class: "badge" }, "Chưa ký số"), " Báo cáo của đơn vị được gửi không kèm chữ ký số.");
    return;
  }
  if (cert.unavailable) {
    box.replaceChildren(el("span", { class: "badge bad" }, "Chứng thư số không dùng được"),
      ` ${cert.unavailable}. Báo cáo của đơn vị được giữ lại (không gửi khi chưa ký số) cho đến khi thay chứng thư.`);
    return;
  }
  const until = date(cert.not_after);
  box.replaceChildren(cert.expires_soon
    ? el("span", { class: "badge bad" }, "Chứng thư số sắp hết hạn")
    : el("span", { class: "badge ok" }, "Ký số"),
    ` ${cert.organisation} · chứng thư số có hiệu lực đến ${until}` +
    (cert.expires_soon ? ": cần gia hạn trước khi hết hạn, nếu không báo cáo không được lập." : ""));
}

async function selectUnit(code) {
  unit = code;
  unitName = $("unit").selectedOptions[0]?.textContent || code;
  showCertificate(unitsByCode.get(code));
  if (stream) stream.abort();
  stream = new AbortController();
  follow(code, stream.signal);
  const tasks = [
    json(`/api/units/${code}/trend?months=12`).then(drawTrend),
    refreshReports(),
    refreshAudit(),
    refreshPipeline(),
  ];
  for (const result of await Promise.allSettled(tasks)) {
    if (result.status === "rejected") toast(result.reason.message);
  }
}

async function start() {
  for (const dialog of document.querySelectorAll("dialog")) {
    for (const button of dialog.querySelectorAll("[data-close]")) button.onclick = () => dialog.close();
  }
  $("logout").hidden = !token();
  $("logout").onclick = () => {
    sessionStorage.removeItem(TOKEN_KEY);
    if (me.signed_in) $("signout-form").submit(); else location.reload();
  };
  me = await json("/api/me");
  if (me.signed_in) {
    $("who").textContent = me.name || me.subject;
    $("logout").hidden = false;
  }
  $("pipeline-panel").hidden = !department();
  if (!me.roles.length) {
    // Signed in, but the department has given this person no role: say so, plainly.
    $("no-role-name").textContent = me.name || me.subject;
    $("no-role").hidden = false;
    for (const v of document.querySelectorAll(".view")) v.hidden = true;
    $("live").hidden = true;
    document.body.dataset.noRole = "true";
    return;
  }
  linkFigures();
  const units = await json("/api/units");
  for (const u of units) unitsByCode.set(u.code, u);
  const picker = $("unit");
  picker.replaceChildren(el("option", { value: "", disabled: true }, "Chọn đơn vị…"),
    ...units.map((u) => el("option", { value: u.code },
      u.kind === "summary" ? `${u.name} (tổng hợp ${u.members.length} đơn vị)` : u.name)));
  picker.onchange = () => { if (picker.value) location.hash = unitLink(picker.value); };
  if (units.length) fillPeriods(units[0].open_period);
  for (const th of document.querySelectorAll("#overview-table th[data-key]")) {
    th.querySelector("button").onclick = () => sortOverview(th.dataset.key);
  }
  window.addEventListener("hashchange", () => route().catch((error) => toast(error.message)));
  await route();
  setInterval(() => {
    if (view === "unit" && unit) {
      refreshReports().catch(() => {});
      refreshAudit().catch(() => {});
      refreshPipeline().catch(() => {});
    } else if (view === "overview") {
      loadOverview(overview.period).catch(() => {});
    }
  }, 15000);
  // The closed months change only with late events: their rates are read again every 5 minutes.
  setInterval(() => {
    if (view === "unit" && unit) json(`/api/units/${unit}/trend?months=12`).then(drawTrend).catch(() => {});
  }, 300000);
}

document.addEventListener("DOMContentLoaded", () => start().catch((error) => toast(error.message)));
