// The top bar's bell: the unread count, kept current over /ws/notices/ on every page
// a signed-in person has open. A new notice is announced once, politely.
(() => {
  const AUTH_REQUIRED = 4401;
  let retry = 1000;

  // The link's name carries the count ("Notifications, 3 unread"); the badge shows it.
  function show(unread) {
    const bell = document.querySelector("[data-bell]");
    if (!bell) return;
    bell.querySelector("[data-bell-count]").textContent = unread > 99 ? "99+" : unread || "";
    bell.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
  }

  function announce(notice) {
    const region = document.querySelector("[data-bell-announce]");
    if (!region) return;
    region.textContent = "";
    // A fresh text node after a tick: screen readers announce a change, not a repeat.
    setTimeout(() => { region.textContent = `New notification: ${notice.title}`; }, 50);
  }

  function listen() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/notices/`);
    socket.onopen = () => {
      retry = 1000;
      const bell = document.querySelector("[data-bell]");
      if (bell) bell.dataset.connected = "true";
    };
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "notice" || frame.type === "unread") show(frame.unread);
      if (frame.type === "notice") announce(frame.notice);
    };
    socket.onclose = (event) => {
      if (event.code === AUTH_REQUIRED) return;
      setTimeout(listen, retry);
      retry = Math.min(retry * 2, 30000);
    };
  }

  if (document.querySelector("[data-bell]") && !window.bazaarBell) {
    window.bazaarBell = true;
    listen();
  }
})();
