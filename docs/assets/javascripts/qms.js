// Filters of generated tables (修订历史): show rows whose data-* match every chosen filter.
document.addEventListener("DOMContentLoaded", () => {
  const selects = [...document.querySelectorAll("select[data-filter]")];
  const rows = [...document.querySelectorAll("table[data-filtered] tbody tr")];
  const apply = () => {
    for (const row of rows) {
      row.hidden = selects.some((s) => s.value && row.dataset[s.dataset.filter] !== s.value);
    }
  };
  for (const s of selects) s.addEventListener("change", apply);
});

// Read-and-acknowledge (培训与确认): on a controlled page served by the forms server,
// a logged-in reader confirms the current revision with one click. Opened as a
// static copy (no server) or by a role that does not confirm (the server answers
// 403 for its documents to confirm), the box stays hidden.
document.addEventListener("DOMContentLoaded", async () => {
  const box = document.querySelector(".qms-ack");
  if (!box) return;
  const { code, version, edition, commit } = box.dataset;
  const getJSON = async (url) => {
    const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    return r.ok ? r.json() : null;
  };
  let me, mine;
  try {
    me = await getJSON("/api/me");
    if (!me || !me.csrf_token) return;
    mine = await getJSON(`/api/acknowledgements/mine?code=${encodeURIComponent(code)}`);
  } catch (e) {
    return;
  }
  const item = mine && mine.items.find((i) => i.code === code);
  if (!item) return; // not in force yet (待生效) or not a document readers confirm
  const text = (tag, content, cls) => {
    const el = document.createElement(tag);
    el.textContent = content;
    if (cls) el.className = cls;
    return el;
  };
  const when = (at) => at.replace("T", " ").slice(0, 16);
  const show = (state, ack) => {
    box.replaceChildren();
    box.hidden = false;
    box.dataset.state = state;
    if (version !== item.version) {
      box.append(text("span", `本页是 ${version} 版，现行版本为 ${item.version}。请阅读现行版本后确认：`));
      const link = text("a", `${code} 现行版本`);
      link.href = item.url;
      box.append(link);
      return;
    }
    if (state === "已确认") {
      box.append(text("span", `✓ 您已于 ${when(ack.at)} 确认阅读本文件 ${ack.version} 版。`));
      return;
    }
    if (state === "旧版已确认" && ack) {
      box.append(text("p", `您曾确认阅读 ${ack.version} 版；文件已修订为 ${item.version}，请阅读修订内容后重新确认。`));
    }
    const button = text("button", `我已阅读并理解本文件（${item.version}）`, "md-button md-button--primary");
    button.type = "button";
    const message = text("span", "", "qms-ack-message");
    button.addEventListener("click", async () => {
      button.disabled = true;
      message.textContent = "正在保存…";
      try {
        const r = await fetch("/api/acknowledgements", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": me.csrf_token },
          body: JSON.stringify({ code, version, edition: edition || null, commit: commit || null }),
        });
        const body = await r.json();
        if (r.ok) {
          show("已确认", body);
        } else {
          message.textContent = body.detail || "未能保存，请刷新页面后重试";
          button.disabled = false;
        }
      } catch (e) {
        message.textContent = "网络中断，未能保存，请稍后重试";
        button.disabled = false;
      }
    });
    box.append(button, message);
  };
  show(item.state, item.acknowledged);
});
