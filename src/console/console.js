// The staff console's script: one file for every page (chosen by <body data-page>), served by the hub.
// It calls the hub's /api endpoints with the session cookie and the page's CSRF token (X-CSRF-Token).
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  const CHANNELS = { line: "LINE", email: "メール", push: "プッシュ通知", webchat: "Webチャット" };

  /** Calls the hub's JSON API; resolves to {status, data} (data: parsed JSON or null). */
  async function api(method, path, body) {
    const headers = { "X-CSRF-Token": csrf, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method, headers, credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      return { status: 0, data: { error: "サーバーに接続できません: " + error.message } };
    }
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    return { status: response.status, data };
  }

  /** A readable message from an API error body. */
  function errorText(result) {
    if (result.status === 401) return "ログインの有効期限が切れました。ページを再読み込みしてログインしてください。";
    if (result.status === 403) return "権限がないか、ページの有効期限が切れています（" + ((result.data && result.data.error) || "403") + "）";
    const data = result.data || {};
    let text = data.error || ("エラー（" + result.status + "）");
    if (data.field) text += "［" + data.field + (data.column ? "、" + data.column + "文字目" : "") + "］";
    return text;
  }

  function show(element, text, kind) {
    if (!element) return;
    element.textContent = text;
    element.className = kind || "";
    element.hidden = !text;
  }

  function quoted(values) {
    return "[" + values.map((v) => JSON.stringify(v)).join(", ") + "]";
  }

  function debounce(fn, ms) {
    let timer = null;
    return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  }

  function checked(name) {
    return $$('input[name="' + name + '"]:checked').map((input) => input.value);
  }

  // --- cancel buttons (notices list and report): a second click confirms.
  function wireCancel() {
    $$("button[data-cancel]").forEach((button) => {
      button.addEventListener("click", async () => {
        if (button.dataset.armed !== "yes") {
          button.dataset.armed = "yes";
          button.textContent = "本当に取り消す";
          return;
        }
        button.disabled = true;
        const result = await api("POST", "/api/notices/" + button.dataset.cancel + "/cancel");
        if (result.status === 200) {
          location.reload();
        } else {
          button.disabled = false;
          show($("#cancel-result"), errorText(result), "error");
        }
      });
    });
  }

  // --- notices: segment builder, live count, preview, schedule.
  function buildRule() {
    const parts = [];
    const min = $("#age-min").value.trim();
    const max = $("#age-max").value.trim();
    if (min !== "") parts.push("age >= " + Number(min));
    if (max !== "") parts.push("age <= " + Number(max));
    const districts = checked("district");
    if (districts.length) parts.push("district in " + quoted(districts));
    const interests = checked("interest");
    if (interests.length === 1) parts.push("interests has " + JSON.stringify(interests[0]));
    if (interests.length > 1) {
      parts.push("(" + interests.map((i) => "interests has " + JSON.stringify(i)).join(" or ") + ")");
    }
    const languages = checked("language");
    if (languages.length) parts.push("language in " + quoted(languages));
    return parts.length ? parts.join(" and ") : "all";
  }

  let countSerial = 0;
  async function updateCount() {
    const serial = ++countSerial;
    const output = $("#segment-count");
    output.textContent = "計算中…";
    const result = await api("POST", "/api/segments/preview", { rule: $("#n-rule").value });
    if (serial !== countSerial) return; // an older answer arriving late
    if (result.status === 200) {
      output.textContent = result.data.count + "人";
      output.dataset.count = String(result.data.count);
      show($("#segment-error"), "");
    } else {
      output.textContent = "—";
      delete output.dataset.count;
      show($("#segment-error"), errorText(result), "error");
    }
  }

  function noticeFromForm() {
    const body = { ja: $("#n-body-ja").value };
    const en = $("#n-body-en").value.trim();
    if (en) body.en = en;
    const notice = {
      title: $("#n-title").value,
      body,
      segment: $("#n-rule").value,
      channels: checked("channel"),
      send_at: null,
      cron: null,
    };
    const when = (checked("when")[0]) || "at";
    if (when === "at") {
      const date = $("#n-date").value;
      const time = $("#n-time").value;
      notice.send_at = date && time ? date + "T" + time + ":00+09:00" : "";
    } else if (when === "cron") {
      notice.cron = $("#n-cron").value;
    }
    return notice;
  }

  function renderPreview(data) {
    const box = $("#preview");
    box.textContent = "";
    const head = document.createElement("p");
    head.textContent = "チャネル: " + (CHANNELS[data.channel] || data.channel) + "／言語: " + data.language +
      (data.in_segment ? "／対象に含まれます" : "／この住民は対象外です");
    box.appendChild(head);
    const labels = { subject: "件名", title: "タイトル", text: "本文", body: "本文", html: "HTML", url: "URL" };
    Object.keys(data.rendered).filter((k) => k !== "channel").forEach((key) => {
      const label = document.createElement("p");
      label.className = "group";
      label.textContent = labels[key] || key;
      const pre = document.createElement("pre");
      pre.textContent = data.rendered[key];
      box.append(label, pre);
    });
  }

  function notices() {
    wireCancel();
    const form = $("#compose");
    if (!form) return;
    const recount = debounce(updateCount, 250);
    $$("#segment-builder input:not(#n-rule)").forEach((input) => {
      input.addEventListener("input", () => { $("#n-rule").value = buildRule(); recount(); });
      input.addEventListener("change", () => { $("#n-rule").value = buildRule(); recount(); });
    });
    $("#n-rule").addEventListener("input", recount);
    updateCount();

    $("#preview-button").addEventListener("click", async () => {
      const resident = $("#p-resident").value.trim();
      if (!resident) { show($("#preview"), "プレビューする住民の住民IDを入力してください。", "error"); return; }
      const request = { notice: noticeFromForm(), resident };
      if ($("#p-channel").value) request.channel = $("#p-channel").value;
      const result = await api("POST", "/api/notices/preview", request);
      if (result.status === 200) { $("#preview").className = "preview"; renderPreview(result.data); }
      else show($("#preview"), errorText(result), "error");
    });

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = $("#schedule-button");
      button.disabled = true;
      show($("#compose-result"), "登録しています…");
      const result = await api("POST", "/api/notices", noticeFromForm());
      button.disabled = false;
      if (result.status === 201) {
        location.href = "/admin/notices?created=" + result.data.id;
      } else {
        show($("#compose-result"), errorText(result), "error");
      }
    });
  }

  // --- residents: CSV import with an upload progress bar and line-numbered errors.
  function residents() {
    const form = $("#import-form");
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const file = $("#import-file").files[0];
      if (!file) return;
      const progress = $("#import-progress");
      const out = $("#import-result");
      progress.hidden = false;
      progress.value = 0;
      show(out, "送信中…");
      const xhr = new XMLHttpRequest();
      xhr.open("POST", "/api/residents/import?encoding=" + encodeURIComponent($("#import-encoding").value));
      xhr.setRequestHeader("Content-Type", "text/csv");
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.addEventListener("progress", (e) => {
        if (e.lengthComputable) progress.value = Math.round((e.loaded / e.total) * 90);
      });
      xhr.upload.addEventListener("load", () => { show(out, "確認して取り込んでいます…"); });
      xhr.addEventListener("load", () => {
        progress.value = 100;
        let data = null;
        try { data = JSON.parse(xhr.responseText); } catch (_) { data = null; }
        if (xhr.status === 200) {
          show(out, data.imported + "人を取り込みました。", "ok");
        } else {
          const where = data && data.field ? "［" + data.field.replace(/^line (\d+)/, "$1行目") + "］" : "";
          show(out, "取り込めませんでした（何も変更していません）: " + ((data && data.error) || xhr.status) + where, "error");
        }
      });
      xhr.addEventListener("error", () => show(out, "サーバーに接続できません。", "error"));
      xhr.send(file);
    });
  }

  // --- emergencies: templates, districts, confirmation with the reach, live progress.
  const TEMPLATES = {
    evacuation: {
      title: "【避難指示】{area}",
      body: "{area}に避難指示を発令しました。危険な場所にいる人は全員、直ちに近くの指定避難所など安全な場所へ避難してください。" +
        "避難が難しい場合は、建物の2階以上など少しでも安全な場所へ移動してください。\n行橋市 災害対策本部",
    },
    landslide: {
      title: "【土砂災害警戒情報】{area}",
      body: "{area}に土砂災害警戒情報が発表されました。がけの近くや渓流沿いにお住まいの方は、早めに避難してください。" +
        "山鳴りや湧き水の濁りなどの前兆に注意してください。\n行橋市 災害対策本部",
    },
    water: {
      title: "【断水のお知らせ】{area}",
      body: "{area}で断水が発生しています。復旧の見込みは決まり次第お知らせします。給水所の場所は市のホームページで確認できます。" +
        "\n行橋市 上下水道課",
    },
  };

  function areaText() {
    if ($("#e-all").checked) return "行橋市全域";
    const districts = checked("e-district");
    return districts.length ? districts.join("・") + "地区" : "（地区）";
  }

  function renderProgress(data) {
    const rows = $("#e-counts");
    rows.textContent = "";
    const counts = data.counts || {};
    const total = { targeted: 0, sent: 0, recorded: 0, pending: 0, failed: 0 };
    Object.keys(counts).forEach((channel) => {
      const c = counts[channel];
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = CHANNELS[channel] || channel;
      tr.appendChild(th);
      ["targeted", "sent", "recorded", "pending", "failed"].forEach((key) => {
        const td = document.createElement("td");
        td.textContent = String(c[key] || 0);
        td.dataset.key = key;
        total[key] += c[key] || 0;
        tr.appendChild(td);
      });
      tr.dataset.channel = channel;
      rows.appendChild(tr);
    });
    const tr = document.createElement("tr");
    tr.className = "total";
    tr.id = "e-total";
    const th = document.createElement("th");
    th.textContent = "合計";
    tr.appendChild(th);
    ["targeted", "sent", "recorded", "pending", "failed"].forEach((key) => {
      const td = document.createElement("td");
      td.textContent = String(total[key]);
      td.dataset.key = key;
      tr.appendChild(td);
    });
    rows.appendChild(tr);
    $("#e-safe").textContent = String(data.safe || 0);
    $("#e-help").textContent = String(data.need_help || 0);
    const unverified = data.unverified || {};
    $("#e-unverified-safe").textContent = String(unverified.safe || 0);
    $("#e-unverified-help").textContent = String(unverified.need_help || 0);
    const done = data.done === undefined ? total.targeted > 0 && total.pending === 0 : Boolean(data.done);
    const status = $("#e-status");
    status.textContent = done
      ? "配信が完了しました（対象 " + total.targeted + "件）" +
        (data.all_sent_ms != null ? "。発信から " + (data.all_sent_ms / 1000).toFixed(1) + "秒" : "")
      : "配信中… 対象 " + total.targeted + "件のうち " + (total.sent + total.recorded + total.failed) + "件 処理済み";
    status.dataset.done = done ? "yes" : "no";
  }

  function follow(id) {
    $("#e-progress").hidden = false;
    let polling = null;
    const poll = async () => {
      const result = await api("GET", "/api/emergencies/" + id);
      if (result.status === 200) renderProgress(result.data);
    };
    if (window.EventSource) {
      const source = new EventSource("/api/emergencies/" + id + "/events");
      // The hub names its events `progress`; a plain `message` is accepted too.
      const onProgress = (event) => {
        try { renderProgress(JSON.parse(event.data)); } catch (_) { /* not progress JSON */ }
      };
      source.addEventListener("progress", onProgress);
      source.addEventListener("message", onProgress);
      source.addEventListener("error", () => {
        // The stream ended or is not available: keep the page live by asking every two seconds.
        source.close();
        if (!polling) { poll(); polling = setInterval(poll, 2000); }
      });
    } else {
      poll();
      polling = setInterval(poll, 2000);
    }
  }

  async function recentEmergencies() {
    const list = $("#recent-emergencies");
    if (!list) return;
    const result = await api("GET", "/api/emergencies");
    list.textContent = "";
    const item = (text, className) => {
      const li = document.createElement("li");
      li.textContent = text;
      if (className) li.className = className;
      list.appendChild(li);
      return li;
    };
    if (result.status !== 200 || !Array.isArray(result.data)) {
      item(result.status === 404 || result.status === 405
        ? "緊急配信の履歴は、このバージョンのハブではまだ表示できません。"
        : errorText(result), "muted");
      return;
    }
    if (!result.data.length) { item("緊急配信はまだありません。", "muted"); return; }
    result.data.slice(0, 10).forEach((e) => {
      const when = e.created_at_ms != null
        ? new Date(e.created_at_ms).toLocaleString("ja-JP", { timeZone: "Asia/Tokyo" })
        : (e.created_at || "");
      item((when ? when + "　" : "") + (e.title || "緊急配信 " + e.id) +
        (e.dry_run && !String(e.title || "").includes("訓練") ? "（訓練）" : ""));
    });
  }

  function emergency() {
    recentEmergencies();
    const form = $("#emergency-form");
    if (!form) return;
    $$("button[data-template]").forEach((button) => {
      button.addEventListener("click", () => {
        const template = TEMPLATES[button.dataset.template];
        $("#e-title").value = template.title.replace("{area}", areaText());
        $("#e-body").value = template.body.replace("{area}", areaText());
        $("#e-title").dataset.template = button.dataset.template;
      });
    });
    const refreshArea = () => {
      const template = TEMPLATES[$("#e-title").dataset.template || ""];
      if (template) {
        $("#e-title").value = template.title.replace("{area}", areaText());
        $("#e-body").value = template.body.replace("{area}", areaText());
      }
    };
    $("#e-all").addEventListener("change", () => {
      $$('input[name="e-district"]').forEach((box) => { box.disabled = $("#e-all").checked; });
      refreshArea();
    });
    $$('input[name="e-district"]').forEach((box) => box.addEventListener("change", refreshArea));

    let pending = null;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const all = $("#e-all").checked;
      const districts = checked("e-district");
      const title = $("#e-title").value.trim();
      const text = $("#e-body").value.trim();
      const error = $("#e-error");
      if (!title || !text) { show(error, "件名と本文を入力してください。", "error"); return; }
      if (!all && !districts.length) { show(error, "対象地区を選ぶか「市内全域」を選んでください。", "error"); return; }
      show(error, "");
      const rule = all ? "all" : "district in " + quoted(districts);
      const reach = await api("POST", "/api/segments/preview", { rule });
      if (reach.status !== 200) { show(error, errorText(reach), "error"); return; }
      pending = { title, body: { ja: text }, districts: all ? null : districts, dry_run: $("#e-dry-run").checked };
      const area = all ? "市内全域" : districts.join("・") + "地区";
      // A dry run reaches only the staff test recipients the hub is configured with, not the area.
      const testers = form.dataset.testRecipients;
      $("#e-reach").textContent = pending.dry_run && testers !== undefined ? testers : String(reach.data.count);
      $("#e-summary").textContent = pending.dry_run
        ? "訓練として「" + title + "」をテスト受信者だけに送ります（本番なら" + area + "の" + reach.data.count + "人に届きます）。"
        : "「" + title + "」を" + area + "の全住民に、すべての連絡手段で配信します。";
      $("#e-compose").hidden = true;
      $("#e-confirm").hidden = false;
      $("#e-send").focus();
    });
    $("#e-back").addEventListener("click", () => {
      $("#e-confirm").hidden = true;
      $("#e-compose").hidden = false;
    });
    $("#e-send").addEventListener("click", async () => {
      if (!pending) return;
      const button = $("#e-send");
      button.disabled = true;
      const result = await api("POST", "/api/emergencies", pending);
      if (result.status === 201 && result.data && result.data.id != null) {
        $("#e-confirm").hidden = true;
        $("#e-progress").dataset.id = String(result.data.id);
        follow(result.data.id);
        recentEmergencies();
      } else {
        button.disabled = false;
        const message = result.status === 501
          ? "このバージョンのハブでは緊急配信をまだ送信できません（内容の確認までは行えます）。"
          : errorText(result);
        show($("#e-summary"), message, "error");
      }
    });
  }

  const pages = { notices, residents, emergency, dashboard: recentEmergencies };
  const page = document.body.dataset.page;
  if (pages[page]) pages[page]();

  // ── JMA drafts (issue 26): disaster and admin staff see, on every page, that a draft made from JMA's
  // information waits for them (checked now and every 30 s).
  const role = document.body.dataset.role;
  if (role === "admin" || role === "disaster") {
    const main = $("#main");
    const banner = document.createElement("p");
    banner.className = "error jma-alert";
    banner.setAttribute("role", "alert");
    banner.hidden = true;
    if (main) main.prepend(banner);
    const check = async () => {
      const result = await api("GET", "/api/jma");
      const drafts = (result.status === 200 && result.data && result.data.drafts) || [];
      const waiting = drafts.filter((d) => d.status === "pending").length;
      banner.hidden = waiting === 0;
      banner.textContent = "";
      if (waiting > 0) {
        const link = document.createElement("a");
        link.href = "/admin/jma";
        link.textContent = "気象庁の情報から作成した緊急配信の下書きが " + waiting + " 件、送信を待っています（確認して送信）";
        banner.append(link);
      }
    };
    check();
    setInterval(check, 30000);
  }
})();
