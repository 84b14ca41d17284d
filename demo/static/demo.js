"use strict";
// Each form posts to the library's JSON routes and shows the answer in plain words.

const messages = {
  RESET_PASSWORD_BAD_TOKEN: "This reset link is invalid, has expired or was already used. Ask for a new one.",
  REGISTER_USER_ALREADY_EXISTS: "An account with this e-mail already exists.",
  LOGIN_BAD_CREDENTIALS: "Wrong e-mail or password.",
  RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE: "The service is briefly unavailable. Please try again.",
};

function explain(detail) {
  if (typeof detail === "string") return messages[detail] || detail;
  if (detail && detail.reason) return "Please choose another password: " + detail.reason + ".";
  if (Array.isArray(detail)) return "Please check the form: " + detail.map((e) => e.msg).join("; ");
  return "Something went wrong.";
}

function show(form, text, ok) {
  const box = form.nextElementSibling;
  box.textContent = text;
  box.className = "message " + (ok ? "ok" : "error");
}

async function post(url, body, form) {
  const response = await fetch(url, {
    method: "POST",
    headers: form ? {} : { "Content-Type": "application/json" },
    body: form ? new URLSearchParams(body) : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  return { ok: response.ok, data };
}

function fields(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// The token travels in the fragment (#token=...), which the browser never sends to the
// server; take it, then remove it from the address bar and history.
const resetToken = new URLSearchParams(location.hash.slice(1)).get("token");
if (location.hash) history.replaceState(null, "", location.pathname);

const handlers = {
  async register(form) {
    const { ok, data } = await post("/auth/register", fields(form));
    show(form, ok ? "Account created for " + data.email + "." : explain(data && data.detail), ok);
  },
  async forgot(form) {
    const { ok, data } = await post("/auth/forgot-password", fields(form));
    show(form, ok ? "If an account exists for this address, a reset link is on its way. Check the outbox." : explain(data && data.detail), ok);
  },
  async reset(form) {
    if (!resetToken) return show(form, messages.RESET_PASSWORD_BAD_TOKEN, false);
    const { ok, data } = await post("/auth/reset-password", { token: resetToken, password: fields(form).password });
    show(form, ok ? "Your password has been changed. You can sign in now." : explain(data && data.detail), ok);
  },
  async signin(form) {
    const { ok, data } = await post("/auth/jwt/login", fields(form), true);
    if (!ok) return show(form, explain(data && data.detail), false);
    const me = await fetch("/users/me", { headers: { Authorization: "Bearer " + data.access_token } });
    const user = await me.json();
    show(form, "Signed in as " + user.email + ".", true);
  },
};

for (const form of document.querySelectorAll("form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await handlers[form.id](form);
    } catch (error) {
      show(form, "The server could not be reached.", false);
    }
  });
}
