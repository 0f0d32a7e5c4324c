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

  /** A readable message from an API error body: the hub's Japanese `message`, with the place when it names one. */
  function errorText(result) {
    if (result.status === 0) return "サーバーに接続できません。ネットワークを確かめて、もう一度お試しください。";
    if (result.status === 401) return "ログインの有効期限が切れました。ページを再読み込みしてログインしてください。";
    const data = result.data || {};
    if (result.status === 403 && data.field === "x-csrf-token") {
      return "画面の有効期限が切れました。ページを再読み込みしてから、もう一度操作してください。";
    }
    return data.message || ("エラーが発生しました（" + result.status + "）。もう一度お試しください。");
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

  // --- notices: segment builder (never silently replacing a hand-written rule), the count of residents it
  // reaches on the chosen channels, its languages, preview for a sample resident, schedule (now asks first).
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

  const SEGMENT_LANGS = { ja: "日本語", "easy-ja": "やさしい日本語", "ja-easy": "やさしい日本語", en: "英語", zh: "中国語", ko: "韓国語", vi: "ベトナム語" };

  let countSerial = 0;
  async function updateCount() {
    const serial = ++countSerial;
    const output = $("#segment-count");
    output.textContent = "計算中…";
    const rule = $("#n-rule").value.trim() || "all";
    const channels = checked("channel");
    const reachable = channels.length
      ? (rule === "all" ? "" : "(" + rule + ") and ") + "(" + channels.map((c) => "channels has " + JSON.stringify(c)).join(" or ") + ")"
      : null;
    const [all, reached, text] = await Promise.all([
      api("POST", "/api/segments/preview", { rule }),
      reachable ? api("POST", "/api/segments/preview", { rule: reachable }) : Promise.resolve(null),
      api("GET", "/admin/notices/describe?rule=" + encodeURIComponent(rule)),
    ]);
    if (serial !== countSerial) return; // an older answer arriving late
    if (text && text.status === 200) $("#segment-text").textContent = text.data.text;
    if (all.status === 200) {
      const count = reached && reached.status === 200 ? reached.data.count : 0;
      output.textContent = count + "人";
      output.dataset.count = String(count);
      const missing = all.data.count - count;
      $("#segment-unreachable").textContent = missing > 0
        ? "（ほかに " + missing + "人は、選んだ配信チャネルの連絡先がないため届きません）" : "";
      const langs = Object.entries((all.data.summary && all.data.summary.by_language) || {})
        .filter(([, n]) => n > 0)
        .map(([code, n]) => {
          const key = code === "easy-ja" ? "ja-easy" : code;
          const own = key === "ja" || ($('[data-body="' + key + '"]') && $('[data-body="' + key + '"]').value.trim());
          return (SEGMENT_LANGS[code] || "その他") + " " + n + "人" + (own ? "" : "（日本語で届きます）");
        });
      $("#segment-languages").textContent = langs.length ? "対象の言語: " + langs.join("、") : "";
      show($("#segment-error"), "");
    } else {
      output.textContent = "—";
      delete output.dataset.count;
      $("#segment-unreachable").textContent = "";
      show($("#segment-error"), errorText(all), "error");
    }
  }

  const DAYS = { Mon: "月", Tue: "火", Wed: "水", Thu: "木", Fri: "金", Sat: "土", Sun: "日" };
  function repeatCron() {
    const [hour, minute] = ($("#n-time").value || "09:00").split(":").map(Number);
    const kind = $("#n-repeat").value;
    const day = kind === "weekly" ? $("#n-weekday").value : "*";
    const dom = kind === "monthly" ? String(Math.min(28, Math.max(1, Number($("#n-monthday").value) || 1))) : "*";
    const text = kind === "daily" ? "毎日" : kind === "weekly" ? "毎週" + DAYS[$("#n-weekday").value] + "曜" : "毎月" + dom + "日";
    $("#repeat-text").textContent = text + " " + hour + ":" + String(minute).padStart(2, "0");
    return "0 " + minute + " " + hour + " " + dom + " * " + day + " *";
  }

  /** Fills the repeat selectors from a stored cron (sec min hour day month weekday year) when it is a usual one. */
  function loadCron(cron) {
    const f = cron.trim().split(/\s+/);
    if (f.length < 6) return;
    $("#n-time").value = String(f[2]).padStart(2, "0") + ":" + String(f[1]).padStart(2, "0");
    if (f[5] !== "*" && f[5] !== "?") { $("#n-repeat").value = "weekly"; $("#n-weekday").value = f[5].slice(0, 1).toUpperCase() + f[5].slice(1, 3).toLowerCase(); }
    else if (f[3] !== "*" && f[3] !== "?") { $("#n-repeat").value = "monthly"; $("#n-monthday").value = f[3]; }
    else $("#n-repeat").value = "daily";
  }

  function noticeFromForm() {
    const body = {};
    $$("#compose textarea[data-body]").forEach((area) => {
      const text = area.value.trim();
      if (text || area.dataset.body === "ja") body[area.dataset.body] = area.dataset.body === "ja" ? area.value : text;
    });
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
      notice.cron = repeatCron();
    }
    return notice;
  }

  function renderPreview(data) {
    const box = $("#preview");
    box.textContent = "";
    const head = document.createElement("p");
    head.textContent = "住民ID: " + data.resident + "／チャネル: " + (CHANNELS[data.channel] || "その他") + "／言語: " +
      (LANG_NAMES[data.language] || "その他") + (data.in_segment ? "／対象に含まれます" : "／この住民は対象外です");
    box.appendChild(head);
    const labels = { subject: "件名", title: "タイトル", text: "本文", body: "本文", html: "メール本文（HTML）", url: "リンク" };
    Object.keys(data.rendered).filter((k) => k !== "channel").forEach((key) => {
      const label = document.createElement("p");
      label.className = "group";
      label.textContent = labels[key] || "その他";
      const pre = document.createElement("pre");
      pre.textContent = data.rendered[key];
      box.append(label, pre);
    });
  }

  function counters() {
    $$("[data-counter-for]").forEach((p) => {
      const area = document.getElementById(p.dataset.counterFor);
      if (!area) return;
      const max = Number(area.getAttribute("maxlength")) || 4000;
      const update = () => {
        const n = area.value.length;
        p.textContent = n.toLocaleString("ja-JP") + " / " + max.toLocaleString("ja-JP") + "文字";
        p.className = "hint counter" + (n > max * 0.9 ? " error" : "");
      };
      area.addEventListener("input", update);
      update();
    });
  }

  /** Ticks the builder's boxes for a rule the builder could have written; leaves them all clear otherwise. */
  function tickFromRule(text) {
    if (!text || text === "all") return;
    const list = (inner) => (inner.match(/"((?:[^"\\]|\\.)*)"/g) || []).map((q) => JSON.parse(q));
    const boxes = $$("#segment-builder input[type=checkbox]");
    const tick = (name, value) => {
      const box = boxes.find((b) => b.name === name && b.value === value);
      if (box) box.checked = true;
    };
    let m;
    if ((m = /age >= (\d+)/.exec(text))) $("#age-min").value = m[1];
    if ((m = /age <= (\d+)/.exec(text))) $("#age-max").value = m[1];
    if ((m = /district in \[([^\]]*)\]/.exec(text))) list(m[1]).forEach((v) => tick("district", v));
    if ((m = /language in \[([^\]]*)\]/.exec(text))) list(m[1]).forEach((v) => tick("language", v));
    (text.match(/interests has "(?:[^"\\]|\\.)*"/g) || []).forEach((part) => tick("interest", JSON.parse(part.slice(14))));
    if (buildRule() !== text) {
      boxes.forEach((b) => { b.checked = false; });
      $("#age-min").value = "";
      $("#age-max").value = "";
    }
  }

  /** Wires the segment builder (shared by the notice and survey forms); returns the debounced recount. */
  function segmentBuilder() {
    const recount = debounce(updateCount, 250);
    const rule = $("#n-rule");
    // A stored rule the boxes can say is shown on the boxes; one they cannot (or one typed by hand) is never
    // replaced without asking.
    tickFromRule(rule.value.trim());
    let handEdited = rule.value.trim() !== "" && rule.value.trim() !== "all" && buildRule() !== rule.value.trim();
    const conflict = $("#rule-conflict");
    const fromBoxes = () => {
      const built = buildRule();
      if (handEdited && rule.value.trim() !== built) {
        conflict.hidden = false;
        return;
      }
      rule.value = built;
      recount();
    };
    $$("#segment-builder input:not(#n-rule)").forEach((input) => {
      input.addEventListener("input", fromBoxes);
      input.addEventListener("change", fromBoxes);
    });
    rule.addEventListener("input", () => { handEdited = true; recount(); });
    $("#rule-replace").addEventListener("click", () => { handEdited = false; conflict.hidden = true; rule.value = buildRule(); recount(); });
    $("#rule-both").addEventListener("click", () => {
      const built = buildRule();
      if (built !== "all") rule.value = "(" + rule.value.trim() + ") and (" + built + ")";
      conflict.hidden = true;
      recount();
    });
    $("#rule-keep").addEventListener("click", () => { conflict.hidden = true; });
    $$('input[name="channel"]').forEach((box) => box.addEventListener("change", recount));
    return recount;
  }

  function notices() {
    wireCancel();
    const form = $("#compose");
    if (!form) return;
    counters();
    const recount = segmentBuilder();
    $$("#compose textarea[data-body]").forEach((area) => area.addEventListener("change", recount));
    if ($("#n-cron").value) loadCron($("#n-cron").value);
    ["#n-repeat", "#n-weekday", "#n-monthday", "#n-time"].forEach((id) => $(id).addEventListener("input", repeatCron));
    // Only the fields of the chosen schedule are shown: a date for 日時を指定, the repeat for 繰り返し.
    const showWhen = () => {
      const when = (checked("when")[0]) || "at";
      $("#n-date").disabled = when !== "at";
      $("#n-date").closest(".row").hidden = when === "now";
      $("#repeat-row").hidden = when !== "cron";
      $("#repeat-text").closest("p").hidden = when !== "cron";
      const kind = $("#n-repeat").value;
      $("#n-weekday").hidden = $('label[for="n-weekday"]').hidden = kind !== "weekly";
      $("#n-monthday").hidden = $('label[for="n-monthday"]').hidden = kind !== "monthly";
    };
    $$('input[name="when"]').forEach((radio) => radio.addEventListener("change", showWhen));
    $("#n-repeat").addEventListener("change", showWhen);
    showWhen();
    repeatCron();
    updateCount();

    $("#preview-button").addEventListener("click", async () => {
      const request = { notice: noticeFromForm(), resident: $("#p-resident").value.trim() };
      if ($("#p-language").value) request.language = $("#p-language").value;
      if ($("#p-channel").value) request.channel = $("#p-channel").value;
      const result = await api("POST", "/api/notices/preview", request);
      if (result.status === 200) { $("#preview").className = "preview"; renderPreview(result.data); }
      else show($("#preview"), errorText(result), "error");
    });

    const button = $("#schedule-button");
    const label = button.textContent;
    $$('input[name="when"]').forEach((radio) => radio.addEventListener("change", () => {
      button.dataset.armed = "";
      button.textContent = label;
    }));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const notice = noticeFromForm();
      if (!notice.title.trim() || !String(notice.body.ja || "").trim()) {
        show($("#compose-result"), "件名と本文（日本語）を入力してください。", "error");
        return;
      }
      const now = (checked("when")[0]) === "now";
      if (now && !armed(button, "もう一度押すと、今すぐ " + ($("#segment-count").dataset.count || "—") + "人に送信します")) {
        show($("#compose-result"), "「すぐに送る」が選ばれています。内容と人数を確かめてから、もう一度ボタンを押してください。", "warning");
        return;
      }
      button.disabled = true;
      show($("#compose-result"), "登録しています…");
      const editing = form.dataset.edit;
      const result = editing
        ? await api("PUT", "/api/notices/" + editing, notice)
        : await api("POST", "/api/notices", notice);
      button.disabled = false;
      button.dataset.armed = "";
      button.textContent = label;
      if (result.status === 201 || (editing && result.status === 200)) {
        location.href = editing ? "/admin/notices/" + editing : "/admin/notices?created=" + result.data.id;
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
          show(out, "取り込めませんでした: " + ((data && data.message) || ("エラー（" + xhr.status + "）")), "error");
        }
      });
      xhr.addEventListener("error", () => show(out, "サーバーに接続できません。", "error"));
      xhr.send(file);
    });
  }

  // --- emergencies: templates (every language, with their severity), districts, a confirmation with the reach,
  // then the emergency's own page (/admin/emergency/ID): live progress, who needs help, update and 解除.
  const LANGS = ["ja-easy", "en", "zh", "ko", "vi"];
  const LANG_NAMES = { ja: "日本語", "ja-easy": "やさしい日本語", en: "英語", zh: "中国語", ko: "韓国語", vi: "ベトナム語" };
  const TEMPLATES = {
    evacuation: {
      severity: "extreme", urgency: "immediate",
      title: {
        ja: "【避難指示】{area}", "ja-easy": "【にげて ください】{area}", en: "[Evacuation Order] {area}",
        zh: "【避难指示】{area}", ko: "【피난 지시】{area}", vi: "[Lệnh sơ tán] {area}",
      },
      body: {
        ja: "{area}に避難指示を発令しました。危険な場所にいる人は全員、直ちに近くの指定避難所など安全な場所へ避難してください。" +
          "避難が難しい場合は、建物の2階以上など少しでも安全な場所へ移動してください。\n行橋市 災害対策本部",
        "ja-easy": "{area}に 避難指示（ひなんしじ）が でました。あぶない ところに いる 人は、すぐに ちかくの 避難所（ひなんじょ）など " +
          "あんぜんな ところへ にげて ください。にげるのが むずかしい ときは、たてものの 2かい より うえへ いって ください。\n行橋市（ゆくはしし）",
        en: "An evacuation order has been issued for {area}. Everyone in a dangerous place must evacuate now to a designated " +
          "shelter or another safe place. If it is too dangerous to leave, move to the second floor or higher of a sturdy building.\n" +
          "Yukuhashi City Disaster Response Headquarters",
        zh: "{area}已发布避难指示。处于危险场所的所有人请立即前往附近的指定避难所等安全地点避难。难以避难时，请移动到建筑物二楼以上等相对安全的地方。\n行桥市 灾害对策本部",
        ko: "{area}에 피난 지시가 발령되었습니다. 위험한 장소에 있는 분은 모두 즉시 가까운 지정 피난소 등 안전한 곳으로 피난하십시오. " +
          "피난이 어려운 경우 건물 2층 이상 등 조금이라도 안전한 곳으로 이동하십시오.\n유쿠하시시 재해대책본부",
        vi: "Lệnh sơ tán đã được ban hành cho {area}. Tất cả những người đang ở nơi nguy hiểm hãy lập tức sơ tán đến nơi trú ẩn " +
          "được chỉ định hoặc nơi an toàn gần nhất. Nếu khó sơ tán, hãy di chuyển lên tầng 2 trở lên của tòa nhà.\n" +
          "Ban chỉ đạo phòng chống thiên tai thành phố Yukuhashi",
      },
    },
    landslide: {
      severity: "severe", urgency: "immediate",
      title: {
        ja: "【土砂災害警戒情報】{area}", "ja-easy": "【がけくずれに ちゅうい】{area}", en: "[Landslide Warning] {area}",
        zh: "【土砂灾害警戒信息】{area}", ko: "【토사 재해 경계 정보】{area}", vi: "[Cảnh báo sạt lở đất] {area}",
      },
      body: {
        ja: "{area}に土砂災害警戒情報が発表されました。がけの近くや渓流沿いにお住まいの方は、早めに避難してください。" +
          "山鳴りや湧き水の濁りなどの前兆に注意してください。\n行橋市 災害対策本部",
        "ja-easy": "{area}で がけくずれが おきる きけんが たかく なって います。がけや 川の ちかくに すむ 人は、はやめに にげて ください。\n行橋市（ゆくはしし）",
        en: "A landslide warning has been issued for {area}. If you live near a cliff or a mountain stream, evacuate early. " +
          "Watch for warning signs such as rumbling from the mountain or muddy spring water.\nYukuhashi City Disaster Response Headquarters",
        zh: "{area}已发布土砂灾害警戒信息。居住在悬崖附近或溪流沿岸的居民请尽早避难。请注意山鸣、涌水变浑浊等前兆。\n行桥市 灾害对策本部",
        ko: "{area}에 토사 재해 경계 정보가 발표되었습니다. 절벽 근처나 계곡 주변에 사시는 분은 일찍 피난하십시오. " +
          "산울림이나 용수가 탁해지는 등의 전조에 주의하십시오.\n유쿠하시시 재해대책본부",
        vi: "Cảnh báo sạt lở đất đã được ban hành cho {area}. Người sống gần vách núi hoặc dọc suối hãy sơ tán sớm. " +
          "Hãy chú ý các dấu hiệu như tiếng động từ núi hoặc nước suối bị đục.\nBan chỉ đạo phòng chống thiên tai thành phố Yukuhashi",
      },
    },
    water: {
      severity: "moderate", urgency: "expected",
      title: {
        ja: "【断水のお知らせ】{area}", "ja-easy": "【水が でません】{area}", en: "[Water Outage] {area}",
        zh: "【停水通知】{area}", ko: "【단수 안내】{area}", vi: "[Thông báo mất nước] {area}",
      },
      body: {
        ja: "{area}で断水が発生しています。復旧の見込みは決まり次第お知らせします。給水所の場所は市のホームページで確認できます。" +
          "\n行橋市 上下水道課",
        "ja-easy": "{area}で 水道の 水が でません。いつ なおるか わかったら おしらせ します。水を もらえる ばしょは 市の ホームページで みて ください。\n行橋市（ゆくはしし）",
        en: "There is a water outage in {area}. We will tell you when service is expected to return. Water distribution points " +
          "are listed on the city website.\nYukuhashi City Water and Sewerage Division",
        zh: "{area}发生停水。恢复时间确定后将另行通知。供水点的位置请在市政府网站上确认。\n行桥市 上下水道课",
        ko: "{area}에서 단수가 발생했습니다. 복구 예정 시간은 정해지는 대로 알려 드리겠습니다. 급수소 위치는 시 홈페이지에서 확인하실 수 있습니다.\n유쿠하시시 상하수도과",
        vi: "Đang mất nước tại {area}. Chúng tôi sẽ thông báo khi có thời gian khôi phục dự kiến. Địa điểm cấp nước được đăng " +
          "trên trang web của thành phố.\nPhòng Cấp thoát nước thành phố Yukuhashi",
      },
    },
  };

  /** The area in a language's words: the district names stay as the city writes them. */
  function areaText(lang) {
    const all = $("#e-all").checked;
    const districts = checked("e-district");
    const names = districts.join("・");
    const words = {
      ja: all ? "行橋市全域" : names + "地区",
      "ja-easy": all ? "行橋市（ゆくはしし）の ぜんぶ" : names + "地区",
      en: all ? "all of Yukuhashi City" : names + " (Yukuhashi)",
      zh: all ? "行桥市全境" : names + "地区",
      ko: all ? "유쿠하시시 전역" : names + " 지구",
      vi: all ? "toàn thành phố Yukuhashi" : "khu vực " + names,
    };
    if (!all && !districts.length) return "（地区）";
    return words[lang] || words.ja;
  }

  /** Title and body per language from a form's fields (`prefix`-title, -body, and the data-lang-* fields). */
  function texts(prefix, form) {
    const title = { ja: $("#" + prefix + "-title").value.trim() };
    const body = { ja: $("#" + prefix + "-body").value.trim() };
    LANGS.forEach((lang) => {
      const t = $('[data-lang-title="' + lang + '"]', form);
      const b = $('[data-lang-body="' + lang + '"]', form);
      if (b && b.value.trim()) {
        body[lang] = b.value.trim();
        if (t && t.value.trim()) title[lang] = t.value.trim();
      }
    });
    return { title, body };
  }

  function progressStatus(data, total) {
    const done = Boolean(data.done);
    if (!done) {
      return { done, text: "配信中… 対象 " + total.targeted + "件のうち " + (total.sent + total.recorded + total.failed) + "件 処理済み" };
    }
    const seconds = data.all_sent_ms != null ? "（発信から " + (data.all_sent_ms / 1000).toFixed(1) + "秒）" : "";
    if (total.targeted === 0) {
      return { done, kind: "error", text: "届け先がありませんでした（対象 0件）。地区に登録住民がいるか、訓練ならテスト受信者の設定を確かめてください。" };
    }
    if (total.sent === 0 && total.failed === 0) {
      return { done, kind: "warning", text: "記録のみ（送信されていません）: 対象 " + total.targeted + "件はすべて記録だけで、住民には届いていません。" +
        "LINE・メールなどの認証情報が設定されていないためです。" };
    }
    if (total.failed > 0) {
      return { done, kind: "error", text: "配信を終えました: 送信 " + total.sent + "件、失敗 " + total.failed + "件" +
        (total.recorded ? "、記録のみ " + total.recorded + "件" : "") + seconds };
    }
    return { done, kind: "ok", text: "配信が完了しました: 送信 " + total.sent + "件" +
      (total.recorded ? "（ほかに記録のみ " + total.recorded + "件）" : "") + seconds };
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
      th.textContent = CHANNELS[channel] || "その他";
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
    const status = progressStatus(data, total);
    const element = $("#e-status");
    element.textContent = status.text;
    element.className = "status " + (status.kind || "");
    element.dataset.done = status.done ? "yes" : "no";
    element.dataset.outcome = status.kind || "running";
    const section = $("#e-progress");
    if (String(data.need_help || 0) !== section.dataset.needHelp) {
      section.dataset.needHelp = String(data.need_help || 0);
      refreshNeedHelp(section.dataset.emergency);
    }
  }

  async function refreshNeedHelp(id) {
    const result = await api("GET", "/api/emergencies/" + id + "/need-help");
    if (result.status !== 200) return;
    const body = $("#need-help-rows");
    body.textContent = "";
    const heading = $("#need-help h2");
    if (heading) heading.textContent = "助けが必要な住民（" + result.data.count + "人）";
    if (!result.data.residents.length) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = 5;
      td.className = "muted";
      td.textContent = "「助けが必要」と答えた住民はいません。";
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    result.data.residents.forEach((r) => {
      const tr = document.createElement("tr");
      const cell = (text) => { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); return td; };
      const who = cell("");
      if (r.external_id) {
        const a = document.createElement("a");
        a.href = "/admin/residents/" + encodeURIComponent(r.external_id);
        a.textContent = r.external_id;
        who.appendChild(a);
      } else {
        who.textContent = "未登録のLINE利用者";
      }
      cell(r.district || "不明");
      cell(LANG_NAMES[r.language] || "—");
      cell([r.line ? "LINE" : null, r.email].filter(Boolean).join("、") || "—");
      cell(new Date(r.answered_at).toLocaleString("ja-JP", { timeZone: "Asia/Tokyo", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }));
      body.appendChild(tr);
    });
  }

  function follow(id) {
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

  /** A button that sends only on its second click (the first one says what will happen). */
  function armed(button, label) {
    if (button.dataset.armed === "yes") return true;
    button.dataset.armed = "yes";
    button.dataset.label = button.textContent;
    button.textContent = label;
    setTimeout(() => {
      if (button.dataset.armed === "yes" && !button.disabled) {
        button.dataset.armed = "";
        button.textContent = button.dataset.label;
      }
    }, 8000);
    return false;
  }

  function emergencyCompose() {
    const form = $("#emergency-form");
    const testers = Number(form.dataset.testRecipients || "0");
    const noTesters = $("#e-no-testers");
    const drillBox = $("#e-dry-run");
    const showDrillNote = () => { if (noTesters) noTesters.hidden = !drillBox.checked; };
    drillBox.addEventListener("change", showDrillNote);
    showDrillNote();
    const fill = () => {
      const template = TEMPLATES[form.dataset.template || ""];
      if (!template) return;
      $("#e-title").value = template.title.ja.replace("{area}", areaText("ja"));
      $("#e-body").value = template.body.ja.replace("{area}", areaText("ja"));
      LANGS.forEach((lang) => {
        $('[data-lang-title="' + lang + '"]', form).value = template.title[lang].replace("{area}", areaText(lang));
        $('[data-lang-body="' + lang + '"]', form).value = template.body[lang].replace("{area}", areaText(lang));
      });
      $("#e-severity").value = template.severity;
    };
    $$("button[data-template]").forEach((button) => {
      button.addEventListener("click", () => { form.dataset.template = button.dataset.template; fill(); });
    });
    $("#e-all").addEventListener("change", () => {
      $$('input[name="e-district"]').forEach((box) => { box.disabled = $("#e-all").checked; });
      fill();
    });
    $$('input[name="e-district"]').forEach((box) => box.addEventListener("change", fill));

    let pending = null;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const all = $("#e-all").checked;
      const districts = checked("e-district");
      const { title, body } = texts("e", form);
      const error = $("#e-error");
      if (!title.ja || !body.ja) { show(error, "件名と本文（日本語）を入力してください。", "error"); return; }
      if (!all && !districts.length) { show(error, "対象地区を選ぶか「市内全域」を選んでください。", "error"); return; }
      if (drillBox.checked && testers === 0) {
        show(error, noTesters ? noTesters.textContent : "訓練の送り先（テスト受信者）が設定されていません。", "error");
        return;
      }
      show(error, "");
      const areaRule = all ? "" : "district in " + quoted(districts);
      const reach = await api("POST", "/api/segments/preview", { rule: areaRule || "all" });
      if (reach.status !== 200) { show(error, errorText(reach), "error"); return; }
      const template = TEMPLATES[form.dataset.template || ""];
      pending = {
        title, body, districts: all ? null : districts, dry_run: drillBox.checked,
        severity: $("#e-severity").value, urgency: template ? template.urgency : "immediate",
      };
      const area = all ? "市内全域" : districts.join("・") + "地区";
      $("#e-reach").textContent = pending.dry_run ? String(testers) : String(reach.data.count);
      $("#e-reach").dataset.severity = $("#e-severity").selectedOptions[0].textContent;
      $("#e-summary").textContent = "重大度「" + $("#e-reach").dataset.severity + "」。" + (pending.dry_run
        ? "訓練として「" + title.ja + "」をテスト受信者 " + testers + "人だけに送ります（本番なら" + area + "の" + reach.data.count + "人に届きます）。"
        : "「" + title.ja + "」を" + area + "の全住民に、すべての連絡手段で配信します。");
      // Which languages have no text of their own, and how many residents of the area chose them.
      const missing = LANGS.filter((lang) => !body[lang]);
      const languages = $("#e-languages");
      languages.textContent = "本文の言語: " + ["ja"].concat(LANGS.filter((l) => body[l])).map((l) => LANG_NAMES[l]).join("・");
      if (missing.length) {
        const rule = (areaRule ? areaRule + " and " : "") + "language in " + quoted(missing);
        const others = await api("POST", "/api/segments/preview", { rule });
        if (others.status === 200 && others.data.count > 0) {
          languages.textContent += "。" + missing.map((l) => LANG_NAMES[l]).join("・") + "を選んだ住民 " + others.data.count +
            "人には、本文がないため日本語で届きます。";
        }
      }
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
      if ((result.status === 201 || result.status === 200) && result.data && result.data.id != null) {
        location.href = "/admin/emergency/" + result.data.id;
      } else {
        button.disabled = false;
        show($("#e-summary"), errorText(result), "error");
      }
    });
  }

  function emergencyProgress() {
    const section = $("#e-progress");
    const id = section.dataset.emergency;
    const dryRun = section.dataset.dryRun === "yes";
    follow(id);
    const update = $("#update-form");
    if (update) {
      update.addEventListener("submit", async (event) => {
        event.preventDefault();
        const { title, body } = texts("u", update);
        if (!title.ja || !body.ja) { show($("#u-error"), "件名と本文（日本語）を入力してください。", "error"); return; }
        show($("#u-error"), "");
        const button = $("#u-send");
        if (!armed(button, "もう一度押すと、同じ住民に更新を送信します")) return;
        button.disabled = true;
        const result = await api("POST", "/api/emergencies",
          { updates: Number(id), title, body, dry_run: dryRun, severity: $("#u-severity").value });
        if ((result.status === 201 || result.status === 200) && result.data) {
          location.href = "/admin/emergency/" + result.data.id;
        } else {
          button.disabled = false;
          show($("#u-error"), errorText(result), "error");
        }
      });
    }
    const cancel = $("#cancel-form");
    if (cancel) {
      cancel.addEventListener("submit", async (event) => {
        event.preventDefault();
        const text = $("#c-body").value.trim();
        if (!text) { show($("#c-error"), "解除のお知らせを入力してください。", "error"); return; }
        show($("#c-error"), "");
        const button = $("#c-send");
        if (!armed(button, "もう一度押すと、解除を送信します")) return;
        button.disabled = true;
        const title = $("h2", section).textContent.replace(/^(【訓練】|【更新】)+/, "");
        const result = await api("POST", "/api/emergencies", { cancels: Number(id), title, body: { ja: text }, dry_run: dryRun });
        if ((result.status === 201 || result.status === 200) && result.data) {
          location.href = "/admin/emergency/" + result.data.id;
        } else {
          button.disabled = false;
          show($("#c-error"), errorText(result), "error");
        }
      });
    }
  }

  function emergency() {
    if ($("#emergency-form")) emergencyCompose();
    if ($("#e-progress[data-emergency]")) emergencyProgress();
  }

  // --- surveys: the form (questions with their choices, audience, period, preview) and 締め切る.
  const KINDS = { single: "ひとつ選ぶ", multiple: "いくつでも選ぶ", scale: "5段階で評価", text: "自由記述" };

  function addQuestion(list) {
    const li = document.createElement("li");
    li.className = "question card";
    const n = list.children.length + 1;
    li.innerHTML = "";
    const kindLabel = document.createElement("label");
    kindLabel.textContent = "質問の種類";
    const kind = document.createElement("select");
    kind.className = "q-kind";
    Object.entries(KINDS).forEach(([value, text]) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = text;
      kind.appendChild(option);
    });
    const textLabel = document.createElement("label");
    textLabel.textContent = "質問文";
    const text = document.createElement("input");
    text.className = "q-text";
    text.maxLength = 500;
    const optionsLabel = document.createElement("label");
    optionsLabel.textContent = "選択肢（1行に1つ）";
    const options = document.createElement("textarea");
    options.className = "q-options";
    options.rows = 4;
    const required = document.createElement("label");
    required.className = "check";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "q-required";
    box.checked = true;
    required.append(box, " 回答を必須にする");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "secondary";
    remove.textContent = "この質問を削除";
    remove.addEventListener("click", () => { li.remove(); renumber(list); });
    [kindLabel, textLabel, optionsLabel].forEach((label, i) => { label.htmlFor = "q" + n + "-" + i; });
    kind.id = "q" + n + "-0"; text.id = "q" + n + "-1"; options.id = "q" + n + "-2";
    const choices = () => {
      const on = kind.value === "single" || kind.value === "multiple";
      optionsLabel.hidden = !on;
      options.hidden = !on;
    };
    // The question and its choices in the other languages (empty: residents of that language read Japanese).
    const others = document.createElement("details");
    others.className = "translations";
    const summary = document.createElement("summary");
    summary.textContent = "ほかの言語（やさしい日本語・英語・中国語・韓国語・ベトナム語）";
    others.appendChild(summary);
    const otherChoices = [];
    LANGS.forEach((lang) => {
      const tLabel = document.createElement("label");
      tLabel.textContent = "質問文（" + LANG_NAMES[lang] + "）";
      const t = document.createElement("input");
      t.className = "q-text-lang";
      t.dataset.lang = lang;
      t.lang = lang === "ja-easy" ? "ja" : lang;
      t.maxLength = 500;
      tLabel.appendChild(t);
      const oLabel = document.createElement("label");
      oLabel.textContent = "選択肢（" + LANG_NAMES[lang] + "、日本語と同じ順に1行に1つ）";
      const o = document.createElement("textarea");
      o.className = "q-options-lang";
      o.dataset.lang = lang;
      o.lang = t.lang;
      o.rows = 3;
      oLabel.appendChild(o);
      otherChoices.push(oLabel);
      others.append(tLabel, oLabel);
    });
    const choicesInAll = () => { choices(); otherChoices.forEach((l) => { l.hidden = options.hidden; }); };
    kind.addEventListener("change", choicesInAll);
    li.append(kindLabel, kind, textLabel, text, optionsLabel, options, others, required, remove);
    list.appendChild(li);
    choicesInAll();
    renumber(list);
    text.focus();
  }

  function renumber(list) {
    Array.from(list.children).forEach((li, i) => { li.dataset.number = String(i + 1); });
  }

  function surveyFromForm() {
    const questions = $$("#questions > li").map((li) => {
      const kind = $(".q-kind", li).value;
      const q = { kind, text: { ja: $(".q-text", li).value.trim() }, required: $(".q-required", li).checked };
      $$(".q-text-lang", li).forEach((t) => { if (t.value.trim()) q.text[t.dataset.lang] = t.value.trim(); });
      if (kind === "single" || kind === "multiple") {
        const lines = (area) => area.value.split("\n").map((t) => t.trim()).filter(Boolean);
        q.options = lines($(".q-options", li)).map((t) => ({ ja: t }));
        // Each language's lines match the Japanese choices in order; a list of another length is reported.
        q.mismatched = [];
        $$(".q-options-lang", li).forEach((area) => {
          const other = lines(area);
          if (!other.length) return;
          if (other.length !== q.options.length) { q.mismatched.push(area.dataset.lang); return; }
          other.forEach((t, i) => { q.options[i][area.dataset.lang] = t; });
        });
      }
      return q;
    });
    const intro = { ja: $("#s-intro").value.trim() };
    $$("[data-intro]").forEach((t) => { if (t.value.trim()) intro[t.dataset.intro] = t.value.trim(); });
    const at = (date, time) => (date && time ? date + "T" + time + ":00+09:00" : "");
    return {
      title: $("#s-title").value.trim(),
      intro,
      questions,
      segment: $("#n-rule").value,
      channels: checked("channel"),
      opens_at: (checked("s-when")[0]) === "now" ? null : at($("#s-open-date").value, $("#s-open-time").value),
      closes_at: at($("#s-close-date").value, $("#s-close-time").value),
      anonymous: $("#s-anonymous").checked,
    };
  }

  /** What is missing, in Japanese, before anything is sent to the hub. */
  function surveyProblems(survey) {
    if (!survey.title) return "件名を入力してください。";
    if (!survey.intro.ja) return "案内文を入力してください。";
    if (!survey.questions.length) return "質問を1つ以上追加してください。";
    for (let i = 0; i < survey.questions.length; i++) {
      const q = survey.questions[i];
      if (!q.text.ja) return "質問" + (i + 1) + "の質問文を入力してください。";
      if (q.options && q.options.length < 2) return "質問" + (i + 1) + "の選択肢を2つ以上、1行に1つずつ入力してください。";
      if (q.mismatched && q.mismatched.length) {
        return "質問" + (i + 1) + "の選択肢（" + q.mismatched.map((l) => LANG_NAMES[l]).join("・") +
          "）の数が日本語の選択肢と違います。日本語と同じ順に1行に1つずつ入力してください。";
      }
    }
    if (!survey.closes_at) return "締切日と時刻を入力してください。";
    return null;
  }

  function surveys() {
    $$("button[data-close-survey]").forEach((button) => {
      button.addEventListener("click", async () => {
        if (!armed(button, "もう一度押すと締め切ります（元に戻せません）")) return;
        button.disabled = true;
        const result = await api("POST", "/api/surveys/" + button.dataset.closeSurvey + "/close");
        if (result.status === 200) location.reload();
        else { button.disabled = false; show($("#close-result"), errorText(result), "error"); }
      });
    });
    const form = $("#survey-form");
    if (!form) return;
    const list = $("#questions");
    $("#add-question").addEventListener("click", () => addQuestion(list));
    addQuestion(list);
    segmentBuilder();
    updateCount();
    $("#s-preview-button").addEventListener("click", () => {
      const survey = surveyFromForm();
      const box = $("#s-preview");
      box.textContent = "";
      const title = document.createElement("h3");
      title.textContent = survey.title || "（件名）";
      const intro = document.createElement("p");
      intro.className = "pre";
      intro.textContent = survey.intro.ja || "（案内文）";
      const languages = document.createElement("p");
      languages.className = "hint";
      languages.textContent = "案内文の言語: " + Object.keys(survey.intro).map((l) => LANG_NAMES[l]).join("・") +
        "（ほかの言語を選んだ住民には日本語が届きます）";
      box.append(title, intro, languages);
      survey.questions.forEach((q, i) => {
        const p = document.createElement("p");
        p.className = "group";
        p.textContent = "Q" + (i + 1) + " " + (q.text.ja || "（質問文）") + (q.required ? "（必須）" : "（任意）");
        box.appendChild(p);
        const ul = document.createElement("ul");
        const items = q.options ? q.options.map((o) => (q.kind === "single" ? "○ " : "□ ") + o.ja)
          : q.kind === "scale" ? ["1（低い） 2 3 4 5（高い）"] : ["（自由に記入する欄）"];
        items.forEach((t) => { const li = document.createElement("li"); li.textContent = t; ul.appendChild(li); });
        box.appendChild(ul);
      });
      const when = document.createElement("p");
      when.className = "hint";
      when.textContent = "受付: " + (survey.opens_at ? survey.opens_at.replace("T", " ").slice(0, 16) : "今すぐ") + " 〜 " +
        (survey.closes_at ? survey.closes_at.replace("T", " ").slice(0, 16) : "（締切）") + "／対象: " + $("#segment-text").textContent +
        "（" + ($("#segment-count").textContent || "—") + "）";
      box.appendChild(when);
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const survey = surveyFromForm();
      const problem = surveyProblems(survey);
      if (problem) { show($("#s-error"), problem, "error"); return; }
      show($("#s-error"), "");
      const button = $("#s-create");
      if (survey.opens_at === null && !armed(button, "もう一度押すと、今すぐ " + ($("#segment-count").dataset.count || "—") + "人に依頼を送ります")) return;
      button.disabled = true;
      survey.questions.forEach((q) => { delete q.mismatched; });
      const result = await api("POST", "/api/surveys", survey);
      button.disabled = false;
      if (result.status === 201 && result.data) location.href = "/admin/surveys/" + result.data.id;
      else show($("#s-error"), errorText(result), "error");
    });
  }

  // --- admin forms that ask before they act (disable an account).
  function confirmForms() {
    $$("form[data-confirm]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    });
  }

  const pages = { notices, residents, emergency, surveys, staff: confirmForms };
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
