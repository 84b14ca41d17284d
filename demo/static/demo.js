"use strict";
// Each form posts to the library's JSON routes and shows the answer in plain words. Fields
// in error get aria-invalid="true"; each field's aria-describedby names the form's message.

const messages = {
  RESET_PASSWORD_BAD_TOKEN: "This reset link is invalid, has expired or was already used. Ask for a new one.",
  REGISTER_USER_ALREADY_EXISTS: "An account with this e-mail already exists.",
  LOGIN_BAD_CREDENTIALS: "Wrong e-mail or password.",
  RESET_PASSWORD_TOKEN_STORE_UNAVAILABLE: "The service is briefly unavailable. Please try again.",
};

// The fields an error code is about.
const fieldsInError = {
  REGISTER_USER_ALREADY_EXISTS: ["email"],
  LOGIN_BAD_CREDENTIALS: ["username", "password"],
};

function explain(detail) {
  if (typeof detail === "string") return messages[detail] || detail;
  if (detail && detail.reason) return "Please choose another password: " + detail.reason + ".";
  if (Array.isArray(detail)) return "Please check the form: " + detail.map((e) => e.msg).join("; ");
  return "Something went wrong.";
}

// The code page sends its "code" field as the route's "token".
const fieldOfBodyKey = { token: "code" };

function invalidNames(detail) {
  if (typeof detail === "string") return fieldsInError[detail] || [];
  if (detail && detail.reason) return ["password"];
  if (Array.isArray(detail)) {
    return detail.map((e) => String((e.loc || []).slice(-1)[0])).map((key) => fieldOfBodyKey[key] || key);
  }
  return [];
}

function messageBox(form) {
  return document.getElementById(form.id + "-message");
}

function show(form, text, ok) {
  const box = messageBox(form);
  box.textContent = text;
  box.className = "message " + (ok ? "ok" : "error");
}

// Marks exactly the named fields as invalid, and moves the focus to the first of them.
function markInvalid(form, names) {
  let first = null;
  for (const input of form.querySelectorAll("input")) {
    if (names.includes(input.name)) {
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    } else {
      input.removeAttribute("aria-invalid");
    }
  }
  if (first) first.focus();
}

function refuse(form, detail) {
  show(form, explain(detail), false);
  markInvalid(form, invalidNames(detail));
}

// A code as the library takes it: the mail shows "4821 3906", a person may type it so.
function normalizeCode(value) {
  return value.replace(/[\s-]/g, "");
}

// A code field (data-code-length) holds that many digits once spaces and dashes are gone:
// a typo is told here, instead of costing one of the code's few tries.
function checkCodeShape(input) {
  const length = Number(input.dataset.codeLength);
  const shaped = new RegExp("^[0-9]{" + length + "}$").test(normalizeCode(input.value));
  input.setCustomValidity(shaped ? "" : "type the " + length + " digits from the mail.");
}

// The browser's own checks (required, type="email", minlength), reported like the server's.
function checkFields(form) {
  for (const input of form.querySelectorAll("input[data-code-length]")) checkCodeShape(input);
  const bad = Array.from(form.querySelectorAll("input")).filter((input) => !input.validity.valid);
  if (bad.length === 0) return true;
  const label = (input) => input.closest("label").firstChild.textContent.trim();
  show(form, bad.map((input) => label(input) + ": " + input.validationMessage).join(" "), false);
  markInvalid(form, bad.map((input) => input.name));
  return false;
}

async function post(url, body, form) {
  const response = await fetch(url, {
    method: "POST",
    headers: form ? {} : { "Content-Type": "application/json" },
    body: form ? new URLSearchParams(body) : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, data };
}

function fields(form) {
  return Object.fromEntries(new FormData(form).entries());
}

// The reset link carries its token in the fragment (#token=...), which the browser never
// sends to the server. The page takes it, removes it from the address bar and history, and
// keeps it in this tab's sessionStorage so that a reload still has it.
const TOKEN_KEY = "fastapi-password-reset-demo:reset-token";

function takeTokenFromLink() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

function storage(action) {
  try {
    return action(window.sessionStorage);
  } catch (error) {
    return null; // storage disabled: the token lasts as long as the page
  }
}

let resetToken = null;

// The address a code was asked for, so that the code page need not ask for it again.
const CODE_EMAIL_KEY = "fastapi-password-reset-demo:code-email";

function forgetToken() {
  resetToken = null;
  storage((store) => store.removeItem(TOKEN_KEY));
}

function showNotice(form, id) {
  form.hidden = true;
  document.getElementById(id).hidden = false;
}

function linkRefused(form) {
  forgetToken();
  messageBox(form).textContent = "";
  showNotice(form, "reset-used-link");
}

async function prepareReset(form, tokenFromLink) {
  for (const notice of document.querySelectorAll(".notice")) notice.hidden = true;
  messageBox(form).textContent = "";
  if (tokenFromLink) storage((store) => store.setItem(TOKEN_KEY, tokenFromLink));
  resetToken = tokenFromLink || storage((store) => store.getItem(TOKEN_KEY));
  if (!resetToken) return showNotice(form, "reset-no-link");
  // Where the library offers a route that checks a token without using it, the server names
  // it in data-validate-url, and a dead link is reported before a password is typed.
  const validateUrl = form.dataset.validateUrl;
  if (validateUrl) {
    try {
      const { data } = await post(validateUrl, { token: resetToken });
      if (data && data.detail === "RESET_PASSWORD_BAD_TOKEN") return linkRefused(form);
    } catch (error) {
      // Unreachable now: the reset itself will tell.
    }
  }
  form.hidden = false;
}

function showSignInLink(form) {
  form.hidden = true;
  const box = messageBox(form);
  const signIn = document.createElement("a");
  signIn.href = "/signin";
  signIn.textContent = "sign in now";
  box.replaceChildren("Your password has been changed. You can ", signIn, ".");
  box.className = "message ok";
}

// A refused code: the page's own words (from its template), the code field marked.
function codeRefused(form) {
  const box = messageBox(form);
  box.replaceChildren(document.getElementById(form.id + "-refused").content.cloneNode(true));
  box.className = "message error";
  markInvalid(form, ["code"]);
}

const handlers = {
  async register(form) {
    const { ok, data } = await post("/auth/register", fields(form));
    if (!ok) return refuse(form, data && data.detail);
    markInvalid(form, []);
    show(form, "Account created for " + data.email + ".", true);
  },
  async forgot(form, submitter) {
    // Each button names its route: a link from the link router, a code from the code router.
    const url = (submitter && submitter.dataset.url) || "/auth/forgot-password";
    const byCode = Boolean(submitter && submitter.dataset.sends === "code");
    const { email } = fields(form);
    const { ok, data } = await post(url, { email });
    if (!ok) return refuse(form, data && data.detail);
    markInvalid(form, []);
    if (!byCode) {
      return show(form, "If an account exists for this address, a reset link is on its way. Check the outbox.", true);
    }
    storage((store) => store.setItem(CODE_EMAIL_KEY, email));
    const enter = document.createElement("a");
    enter.href = "/reset-code";
    enter.textContent = "enter the code";
    const box = messageBox(form);
    box.replaceChildren("If an account exists for this address, a code is on its way. Check the outbox, then ", enter, ".");
    box.className = "message ok";
  },
  async reset(form) {
    if (!resetToken) return linkRefused(form);
    const { ok, data } = await post("/auth/reset-password", { token: resetToken, password: fields(form).password });
    const detail = data && data.detail;
    if (detail === "RESET_PASSWORD_BAD_TOKEN") return linkRefused(form);
    if (!ok) return refuse(form, detail);
    forgetToken();
    showSignInLink(form);
  },
  async "reset-code"(form) {
    const { email, code, password } = fields(form);
    const { ok, data } = await post(form.dataset.url, { email, token: normalizeCode(code), password });
    const detail = data && data.detail;
    if (detail === "RESET_PASSWORD_BAD_TOKEN") return codeRefused(form);
    if (!ok) return refuse(form, detail);
    storage((store) => store.removeItem(CODE_EMAIL_KEY));
    showSignInLink(form);
  },
  async signin(form) {
    const { ok, data } = await post("/auth/jwt/login", fields(form), true);
    if (!ok) return refuse(form, data && data.detail);
    markInvalid(form, []);
    const me = await fetch("/users/me", { headers: { Authorization: "Bearer " + data.access_token } });
    const user = await me.json();
    show(form, "Signed in as " + user.email + ".", true);
  },
};

for (const form of document.querySelectorAll("form")) {
  for (const input of form.querySelectorAll("input")) {
    input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!checkFields(form)) return;
    try {
      await handlers[form.id](form, event.submitter);
    } catch (error) {
      show(form, "The server could not be reached.", false);
    }
  });
}

// The code page starts with the address the code was asked for in this tab, if any.
const codeForm = document.getElementById("reset-code");
if (codeForm && !codeForm.elements.email.value) {
  codeForm.elements.email.value = storage((store) => store.getItem(CODE_EMAIL_KEY)) || "";
}

const resetForm = document.getElementById("reset");
if (resetForm) {
  prepareReset(resetForm, takeTokenFromLink());
  // A link pasted into the address bar of this page changes only the fragment: no reload.
  window.addEventListener("hashchange", () => {
    const token = takeTokenFromLink();
    if (token) prepareReset(resetForm, token);
  });
} else if (location.hash.includes("token=")) {
  takeTokenFromLink(); // a token has no business in any other page's address
}
