/* The verify page: look a credential up by ID, or check a PDF byte for byte.
 *
 * Everything runs in the browser against the site's static JSON, at the paths the page
 * embeds from sitegen's layout (#sitegen-layout):
 *   credentialApi  the record, with verification.status and .pdf_sha256
 *   pdfHash        {"uuid": ...} for a PDF that does not name its credential
 * No framework, no external script; the PDF never leaves the browser.
 */
(function () {
  "use strict";

  var app = document.getElementById("verify-app");
  var layoutScript = document.getElementById("sitegen-layout");
  if (!app || !layoutScript || !window.fetch || !window.URLSearchParams) {
    return; // the page already explains the other ways to check
  }
  // The site's layout (paths with {uuid} and {sha256}), written into the page by sitegen.
  var LAYOUT = JSON.parse(layoutScript.textContent);
  var ROOT = app.getAttribute("data-site-root");

  function sitePath(pattern, values) {
    return ROOT + pattern.replace(/\{(uuid|sha256)\}/g, function (_, name) { return values[name]; });
  }
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December"];
  var STATUS = {
    valid: { label: "Valid", heading: "Valid certificate" },
    expired: { label: "Expired", heading: "Expired certificate" },
    revoked: { label: "Revoked", heading: "Revoked certificate" },
    unknown: { label: "Not found", heading: "No such certificate" }
  };
  var MAX_PDF_BYTES = 50 * 1024 * 1024;

  // -- small DOM helpers: every value is set as text, never as HTML ------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  var ICON_PATHS = {
    valid: '<circle cx="12" cy="12" r="10" fill="currentColor"/><path d="M7.5 12.5l3 3 6-6.5" fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"/>',
    revoked: '<circle cx="12" cy="12" r="10" fill="currentColor"/><path d="M8.5 8.5l7 7m0-7l-7 7" fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round"/>',
    expired: '<circle cx="12" cy="12" r="10" fill="currentColor"/><path d="M12 6.8V12l3.6 2.2" fill="none" stroke="#fff" stroke-width="2.4" stroke-linecap="round" stroke-linejoin="round"/>',
    unknown: '<circle cx="12" cy="12" r="10" fill="currentColor"/><path d="M9.4 9.3a2.7 2.7 0 1 1 3.6 2.6c-.7.3-1 .8-1 1.5v.6" fill="none" stroke="#fff" stroke-width="2.2" stroke-linecap="round"/><circle cx="12" cy="17" r="1.3" fill="#fff"/>'
  };

  function badge(status) {
    var span = el("span", { "class": "status-badge status-badge--" + status });
    // Fixed markup from this file, never data from a response.
    span.innerHTML = '<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">' +
      ICON_PATHS[status] + "</svg>";
    span.appendChild(el("span", { "class": "status-badge__text", text: STATUS[status].label }));
    return span;
  }

  function show(container, tone, status, heading, paragraphs, details) {
    container.textContent = "";
    var box = el("div", { "class": "result-box result-box--" + tone });
    if (status) box.appendChild(badge(status));
    box.appendChild(el("h3", { "class": "result-box__heading", text: heading }));
    (paragraphs || []).forEach(function (p) {
      box.appendChild(typeof p === "string" ? el("p", { text: p }) : p);
    });
    if (details) box.appendChild(details);
    container.appendChild(box);
  }

  function busy(container, text) {
    container.textContent = "";
    container.appendChild(el("p", { "class": "result-busy", text: text }));
  }

  function displayDate(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || "");
    if (!m) return iso || "";
    return String(Number(m[3])) + " " + MONTHS[Number(m[2]) - 1] + " " + m[1];
  }

  function today() {
    // UTC, as the build and `sitegen verify` count days: all three agree on expiry.
    return new Date().toISOString().slice(0, 10);
  }

  // -- reading the records ------------------------------------------------------------

  function extractId(text) {
    var t = String(text || "").trim().toLowerCase();
    var m = /credentials\/([0-9a-f]{32})(?![0-9a-f])/.exec(t) ||
      /(?:^|[^0-9a-f])([0-9a-f]{32})(?![0-9a-f])/.exec(t);
    if (m) return m[1];
    m = /([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})/.exec(t);
    if (m) return m.slice(1).join("");
    // Typed or copied in groups: spaces and dashes anywhere, and nothing else.
    var compact = t.replace(/[\s\u00a0\u2010-\u2015-]+/g, "");
    return /^[0-9a-f]{32}$/.test(compact) ? compact : null;
  }

  function NetworkError(message) { this.message = message; }

  async function getJson(url) {
    var response;
    try {
      response = await fetch(url, { headers: { "Accept": "application/json" }, cache: "no-cache" });
    } catch (err) {
      throw new NetworkError(location.protocol === "file:"
        ? "This check reads the site's records over the web, which browsers do not allow for a page opened from a file. Open the site over http(s)."
        : "Could not reach " + location.host + ". Check your connection and try again.");
    }
    // A static host answers 403 or 404 for a missing object; a CDN may answer its
    // HTML error page with 200, which is not JSON: all of these mean "not found".
    if (response.status === 404 || response.status === 403 || response.status === 410) return null;
    if (!response.ok) throw new NetworkError("The site answered " + response.status + ". Try again later.");
    try {
      return await response.json();
    } catch (err) {
      return null;
    }
  }

  async function findCredential(uuid) {
    var data = await getJson(sitePath(LAYOUT.credentialApi, { uuid: uuid }));
    if (!data || typeof data !== "object") return null;
    if (String(data.uuid || "").replace(/-/g, "").toLowerCase() !== uuid) return null;
    return data;
  }

  function statusOf(data) {
    var v = data.verification || {};
    var status = v.status || (data.status === "revoked" ? "revoked" : "valid");
    // The JSON is as fresh as the last build; a date that has passed since still counts.
    if (status === "valid" && data.expires && String(data.expires).slice(0, 10) < today()) status = "expired";
    return STATUS[status] ? status : "unknown";
  }

  function organizationName(org) {
    if (!org) return "";
    if (typeof org === "string") return org;
    return org.name || org.short_name || "";
  }

  function pageLink(uuid) {
    return sitePath(LAYOUT.credentialPage, { uuid: uuid });
  }

  function credentialDetails(data, uuid, status) {
    var v = data.verification || {};
    var dl = el("dl", { "class": "details details--compact" });
    function row(label, value, attrs) {
      if (!value) return;
      dl.appendChild(el("div", {}, [el("dt", { text: label }), el("dd", attrs || {}, [value])]));
    }
    var name = el("bdi", { text: data.full_name || "" });
    row("Awarded to", name, { dir: "auto" });
    row(data.credential && data.credential.type === "program" ? "Program" : "Course", data.title || "");
    row("Issuer", organizationName(data.organization));
    row("Issued", displayDate(data.issued || data.created));
    if (data.expires) row(status === "expired" ? "Expired" : "Valid until", displayDate(data.expires));
    if (status === "revoked") row("Reason", v.revocation_reason || "No reason given.");
    row("Credential ID", el("code", { "class": "break", text: uuid }));
    var wrap = el("div", {}, [dl]);
    wrap.appendChild(el("p", {}, [el("a", { href: pageLink(uuid), "class": "button button--ghost" }, ["Open the certificate page"])]));
    return wrap;
  }

  // -- look-up by ID --------------------------------------------------------------------

  var idForm = document.getElementById("id-form");
  var idInput = document.getElementById("credential-id");
  var idResult = document.getElementById("id-result");

  async function lookUp(text) {
    var uuid = extractId(text);
    if (!uuid) {
      show(idResult, "neutral", null, "That does not look like a credential ID",
        ["A credential ID has 32 characters: digits 0–9 and letters a–f. It is printed on the certificate and is the last part of its link."]);
      return;
    }
    busy(idResult, "Checking " + uuid + "…");
    try {
      var data = await findCredential(uuid);
      if (!data) {
        show(idResult, "bad", "unknown", "No certificate with this ID",
          ["We have no certificate with the ID " + uuid + ". Check it for typing mistakes. If it is correct, we did not issue this certificate, or it was removed at the learner's request."]);
        return;
      }
      var status = statusOf(data);
      var tone = status === "valid" ? "good" : status === "expired" ? "warn" : "bad";
      var lines = {
        valid: "This certificate was issued by us and is valid.",
        expired: "This certificate was issued by us but has expired.",
        revoked: "This certificate was issued by us but has been revoked. It must not be accepted."
      };
      show(idResult, tone, status, STATUS[status].heading, [lines[status]], credentialDetails(data, uuid, status));
    } catch (err) {
      show(idResult, "neutral", null, "Could not check right now", [err.message || String(err)]);
    }
  }

  // -- check a PDF ----------------------------------------------------------------------

  var dropZone = document.getElementById("drop-zone");
  var fileInput = document.getElementById("pdf-file");
  var pdfResult = document.getElementById("pdf-result");

  function latin1(bytes) {
    // One character per byte, so offsets and ASCII text survive whatever the encoding.
    var parts = [];
    for (var i = 0; i < bytes.length; i += 0x8000) {
      parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)));
    }
    return parts.join("");
  }

  async function inflate(bytes) {
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  // PDF 1.5 and later keep small objects, the document information among them, in
  // compressed object streams: the credential ID sitegen writes there (/CredentialID,
  // /CredentialURL) is not in the file's plain bytes. `sitegen verify` reads the same
  // metadata (through pypdf), so both find a credential in a PDF the same way.
  async function objectStreamsText(bytes, text) {
    if (!window.DecompressionStream || !window.Response) return "";
    var parts = [];
    var re = /<<[^>]*?\/Type\s*\/ObjStm[^>]*?>>\s*stream\r?\n/g, m;
    while ((m = re.exec(text)) !== null && parts.length < 64) {
      var length = /\/Length\s+(\d+)(?!\s+\d+\s+R)/.exec(m[0]);
      if (!length || m[0].indexOf("/FlateDecode") === -1) continue;
      var start = m.index + m[0].length;
      try {
        parts.push(latin1(await inflate(bytes.subarray(start, start + Number(length[1])))));
      } catch (err) {
        // damaged or not deflate: the SHA-256 look-up still applies
      }
    }
    return parts.join("\n");
  }

  // The credential the PDF says it is, read as `sitegen verify` reads it (pdf_claim in
  // sitegen/verify.py): /CredentialID and /CredentialURL; only when both are missing, a
  // credential link in /Subject. Contradicting values name nothing: the SHA-256 decides.
  function claimedId(text) {
    var t = text + "\n" + text.replace(/\x00/g, "");  // UTF-16 strings, zero bytes dropped
    var ids = {}, named = false, m;
    var idRe = /\/CredentialID\s*\(\s*([^)]*?)\s*\)/g;
    while ((m = idRe.exec(t)) !== null) { named = true; ids[m[1]] = true; }
    var urlRe = /\/CredentialURL\s*\(([^)]*)\)/g;
    while ((m = urlRe.exec(t)) !== null) {
      named = true;
      var inUrl = /credentials\/([0-9a-f]{32})\/?$/.exec(m[1].trim());
      ids[inUrl ? inUrl[1] : "not a credential link"] = true;
    }
    if (!named) {
      var subjectRe = /\/Subject\s*\(((?:[^()\\]|\\.)*)\)/g;
      while ((m = subjectRe.exec(t)) !== null) {
        (m[1].match(/credentials\/[0-9a-f]{32}(?![0-9a-f])/g) || []).forEach(function (link) {
          ids[link.slice("credentials/".length)] = true;
        });
      }
    }
    var found = Object.keys(ids);
    return found.length === 1 && /^[0-9a-f]{32}$/.test(found[0]) ? found[0] : null;
  }

  function toHex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return (b < 16 ? "0" : "") + b.toString(16);
    }).join("");
  }

  function hashNote(sha, name) {
    var details = el("details", { "class": "hash-note" }, [
      el("summary", { text: "Technical details" }),
      el("p", {}, ["File: ", el("bdi", { text: name })]),
      el("p", {}, ["SHA-256: ", el("code", { "class": "break", text: sha || "not computed" })])
    ]);
    return details;
  }

  async function checkPdf(file) {
    if (!file) return;
    if (file.size > MAX_PDF_BYTES) {
      show(pdfResult, "neutral", null, "This file is too large", ["Our certificates are small PDFs. Is this the right file?"]);
      return;
    }
    busy(pdfResult, "Reading " + file.name + "…");
    try {
      var buffer = await file.arrayBuffer();
      var bytes = new Uint8Array(buffer);
      var head = latin1(bytes.subarray(0, 1024));
      if (head.indexOf("%PDF-") === -1) {
        show(pdfResult, "neutral", null, "This is not a PDF file", ["Drop the certificate PDF as the learner sent it."]);
        return;
      }
      var text = latin1(bytes);
      var claimed = claimedId(text + "\n" + await objectStreamsText(bytes, text));
      var ids = claimed ? [claimed] : [];
      var canHash = !!(window.crypto && window.crypto.subtle && window.isSecureContext !== false);
      if (!canHash) {
        await withoutHash(ids, file.name);
        return;
      }
      var sha = toHex(await window.crypto.subtle.digest("SHA-256", buffer));
      var uuid = claimed;
      var data = uuid ? await findCredential(uuid) : null;
      if (!data) {
        // No ID in the PDF, or nothing published under it: the site also knows its PDFs
        // by their SHA-256, one at a time (as `sitegen verify` looks them up).
        busy(pdfResult, "Looking the file up…");
        var found = await getJson(sitePath(LAYOUT.pdfHash, { sha256: sha }));
        var byHash = found && typeof found.uuid === "string" ? found.uuid.replace(/-/g, "").toLowerCase() : null;
        if (byHash && /^[0-9a-f]{32}$/.test(byHash)) {
          uuid = byHash;
          data = await findCredential(uuid);
        }
      }
      if (!uuid) {
        show(pdfResult, "bad", "unknown", "Not a certificate we issued",
          ["This PDF does not match any certificate issued by us. It may have been altered, or come from elsewhere."],
          hashNote(sha, file.name));
        return;
      }
      if (!data) {
        show(pdfResult, "bad", "unknown", "Not a certificate we issued",
          ["This PDF names the credential ID " + uuid + ", but we have no such certificate. It may have been forged, or removed at the learner's request."],
          hashNote(sha, file.name));
        return;
      }
      var status = statusOf(data);
      var expected = String((data.verification || {}).pdf_sha256 || "").toLowerCase();
      var details = credentialDetails(data, uuid, status);
      details.appendChild(hashNote(sha, file.name));
      if (expected && expected === sha) {
        if (status === "valid") {
          show(pdfResult, "good", "valid", "Genuine and valid",
            ["This PDF is exactly the certificate we issued, and the certificate is valid."], details);
        } else if (status === "expired") {
          show(pdfResult, "warn", "expired", "Genuine, but expired",
            ["This PDF is exactly the certificate we issued, but the certificate has expired."], details);
        } else {
          show(pdfResult, "bad", "revoked", "Genuine file, but revoked",
            ["This PDF was issued by us, but the certificate has since been revoked. It must not be accepted."], details);
        }
      } else if (!expected && status !== "revoked") {
        show(pdfResult, "neutral", status, "Could not compare this file",
          ["We have published no fingerprint of the PDF for credential " + uuid + ", so the file could not be compared. Check its signature with GnuPG, or compare it with the certificate page."],
          details);
      } else if (status === "revoked") {
        show(pdfResult, "bad", "revoked", "This certificate has been revoked",
          ["The PDF names a certificate that has been revoked. It must not be accepted."], details);
      } else {
        show(pdfResult, "bad", null, "This PDF has been altered or is not ours",
          ["The file names credential " + uuid + ", but it is not the PDF we issued for it: at least one byte differs. Compare it with the certificate page, or ask the candidate for the PDF downloaded from there."],
          details);
      }
    } catch (err) {
      show(pdfResult, "neutral", null, "Could not check this file", [err.message || String(err)]);
    }
  }

  async function withoutHash(ids, name) {
    var why = "Your browser only allows comparing files on a secure (https) page, so this file could not be compared byte for byte. " +
      "Open this page over https, or check the PDF's signature with GnuPG.";
    if (!ids.length) {
      show(pdfResult, "neutral", null, "Could not check this file", [why]);
      return;
    }
    var data = await findCredential(ids[0]);
    if (!data) {
      show(pdfResult, "bad", "unknown", "Not a certificate we issued",
        ["This PDF names the credential ID " + ids[0] + ", but we have no such certificate.", why]);
      return;
    }
    var status = statusOf(data);
    show(pdfResult, "neutral", status, "The PDF names a " + STATUS[status].label.toLowerCase() + " certificate",
      ["The file was not compared with the one we issued, so it may have been altered. " + why],
      credentialDetails(data, ids[0], status));
  }

  // -- wiring ---------------------------------------------------------------------------

  Array.prototype.forEach.call(document.querySelectorAll(".js-off-note"), function (note) { note.hidden = true; });
  idForm.hidden = false;
  dropZone.hidden = false;

  idForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var uuid = extractId(idInput.value);
    if (uuid && window.history && history.replaceState) {
      history.replaceState(null, "", "?id=" + uuid);
    }
    lookUp(idInput.value);
  });

  fileInput.addEventListener("change", function () {
    checkPdf(fileInput.files && fileInput.files[0]);
  });

  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }
  ["dragenter", "dragover"].forEach(function (type) {
    dropZone.addEventListener(type, function (event) {
      if (!hasFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      dropZone.classList.add("is-dragover");
    });
  });
  ["dragleave", "dragend"].forEach(function (type) {
    dropZone.addEventListener(type, function () { dropZone.classList.remove("is-dragover"); });
  });
  dropZone.addEventListener("drop", function (event) {
    event.preventDefault();
    dropZone.classList.remove("is-dragover");
    checkPdf(event.dataTransfer.files && event.dataTransfer.files[0]);
  });
  // A PDF dropped beside the zone would otherwise replace this page with the PDF.
  ["dragover", "drop"].forEach(function (type) {
    window.addEventListener(type, function (event) {
      if (hasFiles(event) && !dropZone.contains(event.target)) event.preventDefault();
    });
  });

  // verify/?id=<uuid> checks at once: handy in links and e-mails.
  var initial = new URLSearchParams(location.search).get("id");
  if (initial) {
    idInput.value = initial;
    lookUp(initial);
  }
})();
