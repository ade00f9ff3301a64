/* The verify page: look a credential up by ID, or check a PDF byte for byte.
 *
 * Everything runs in the browser against the site's static JSON, at the paths the page
 * embeds from sitegen's layout (#sitegen-layout):
 *   credentialApi   the record, with verification.status and .pdf_sha256
 *   pdfHash         {"uuid": ...} for a PDF that does not name its credential
 *   credentialJson  the published verifiable credential, compared with the one a PDF carries
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

  // -- the objects of a PDF ------------------------------------------------------------
  //
  // PDF 1.5 and later keep small objects, the document information among them, in
  // compressed object streams: the credential ID sitegen writes there (/CredentialID,
  // /CredentialURL) and the file specification of the credential.json it embeds are not in
  // the file's plain bytes. `sitegen verify` reads the same objects (through pypdf), so both
  // find a credential in a PDF the same way.

  var MAX_OBJECT_STREAMS = 64;
  var MAX_OBJECT_STREAM_BYTES = 4 * 1024 * 1024;

  async function inflateAtMost(bytes, limit) {
    var reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate")).getReader();
    var chunks = [], size = 0;
    for (;;) {
      var step = await reader.read();
      if (step.done) break;
      size += step.value.length;
      if (size > limit) {
        reader.cancel();
        throw new Error("larger than " + limit + " bytes");
      }
      chunks.push(step.value);
    }
    var out = new Uint8Array(size), at = 0;
    chunks.forEach(function (chunk) { out.set(chunk, at); at += chunk.length; });
    return out;
  }

  // The objects of a PDF: number -> {text, data}, the text of its dictionary (or, in an
  // object stream, the whole object) and the bytes of its stream, if it has one. The last
  // definition of a number wins, as with incremental updates.
  function plainObjects(bytes, text) {
    var objects = {}, re = /(\d+)\s+\d+\s+obj\b/g, m;
    while ((m = re.exec(text)) !== null) {
      var start = m.index + m[0].length;
      var end = text.indexOf("endobj", start);
      if (end === -1) break;
      var body = text.slice(start, end);
      var object = { text: body, data: null };
      var keyword = /\bstream\r?\n/.exec(body);
      if (keyword) {
        object.text = body.slice(0, keyword.index);
        var from = start + keyword.index + keyword[0].length;
        var to = start + body.lastIndexOf("endstream");
        object.data = bytes.subarray(from, Math.max(from, to));
        object.length = /\/Length\s+(\d+)(?!\s+\d+\s+R)/.exec(object.text);
      }
      objects[m[1]] = object;
      re.lastIndex = end;
    }
    return objects;
  }

  function streamBytes(object) {
    // The declared /Length when it is given directly; else up to "endstream" (less its EOL).
    if (object.length && Number(object.length[1]) <= object.data.length) {
      return object.data.subarray(0, Number(object.length[1]));
    }
    var data = object.data, end = data.length;
    while (end > 0 && (data[end - 1] === 0x0a || data[end - 1] === 0x0d)) end--;
    return data.subarray(0, end);
  }

  async function streamContent(object, limit) {
    var filters = /\/Filter\s*(\[[^\]]*\]|\/\w+)/.exec(object.text);
    var names = filters ? filters[1].match(/\/\w+/g) || [] : [];
    if (names.length === 0) {
      var plain = streamBytes(object);
      if (plain.length > limit) throw new Error("larger than " + limit + " bytes");
      return plain;
    }
    if (names.length === 1 && names[0] === "/FlateDecode" && !/\/DecodeParms/.test(object.text)) {
      return inflateAtMost(streamBytes(object), limit);
    }
    throw new Error("encoded with " + names.join(" "));
  }

  async function pdfObjects(bytes, text) {
    var objects = plainObjects(bytes, text);
    if (!window.DecompressionStream || !window.Blob) return objects;
    var streams = Object.keys(objects).filter(function (number) {
      return objects[number].data && /\/Type\s*\/ObjStm\b/.test(objects[number].text);
    }).slice(0, MAX_OBJECT_STREAMS);
    for (var i = 0; i < streams.length; i++) {
      var stream = objects[streams[i]];
      var first = /\/First\s+(\d+)/.exec(stream.text);
      var count = /\/N\s+(\d+)/.exec(stream.text);
      if (!first || !count) continue;
      var content;
      try {
        content = latin1(await streamContent(stream, MAX_OBJECT_STREAM_BYTES));
      } catch (err) {
        continue; // damaged, too large, or another filter: the SHA-256 look-up still applies
      }
      var header = content.slice(0, Number(first[1])).trim().split(/\s+/).map(Number);
      for (var k = 0; k + 1 < Math.min(header.length, 2 * Number(count[1])); k += 2) {
        var from = Number(first[1]) + header[k + 1];
        var to = k + 3 < header.length ? Number(first[1]) + header[k + 3] : content.length;
        if (!(String(header[k]) in objects)) {
          objects[String(header[k])] = { text: content.slice(from, to), data: null, packed: true };
        }
      }
    }
    return objects;
  }

  function packedText(objects) {
    return Object.keys(objects).filter(function (number) { return objects[number].packed; })
      .map(function (number) { return objects[number].text; }).join("\n");
  }

  // A PDF literal string with its escapes decoded: a file saved again by another tool may
  // write "https\072\057\057..." where sitegen writes "https://...".
  function pdfLiteral(raw) {
    return raw.replace(/\\([0-7]{1,3}|[\s\S])/g, function (_, escaped) {
      if (/^[0-7]/.test(escaped)) return String.fromCharCode(parseInt(escaped, 8) & 0xff);
      if (escaped === "\n" || escaped === "\r") return "";  // a line continued
      return { n: "\n", r: "\r", t: "\t", b: "\b", f: "\f" }[escaped] || escaped;
    });
  }

  // The credential the PDF says it is, read as `sitegen verify` reads it (pdf_claim in
  // sitegen/verify.py): /CredentialID and /CredentialURL; only when both are missing, a
  // credential link in /Subject. Contradicting values name nothing: the SHA-256 decides.
  function claimedId(text) {
    var t = text + "\n" + text.replace(/\x00/g, "");  // UTF-16 strings, zero bytes dropped
    var ids = {}, named = false, m;
    var idRe = /\/CredentialID\s*\(\s*([^)]*?)\s*\)/g;
    while ((m = idRe.exec(t)) !== null) { named = true; ids[pdfLiteral(m[1]).trim()] = true; }
    var urlRe = /\/CredentialURL\s*\(([^)]*)\)/g;
    while ((m = urlRe.exec(t)) !== null) {
      named = true;
      var inUrl = /credentials\/([0-9a-f]{32})\/?$/.exec(pdfLiteral(m[1]).trim());
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

  // -- the verifiable credential a PDF carries --------------------------------------------
  //
  // A signed build embeds each credential's credential.json in its PDF (PDF/A-3, an
  // associated file). It is read here as `sitegen verify` reads it: the file specification
  // named credential.json, the stream it points to, inflated, never more than
  // MAX_CREDENTIAL_BYTES. Its signature (an Ed25519 proof over the canonical RDF) is NOT
  // checked here: the page compares the file with the one the site publishes, and says that
  // a wallet or `sitegen verify` checks the proof.

  var CREDENTIAL_FILE = "credential.json";
  var MAX_CREDENTIAL_BYTES = 256 * 1024;
  // The credential.json files the PDF embeds: their bytes, each file once.
  async function embeddedCredentials(objects) {
    var found = [], seen = {};
    Object.keys(objects).forEach(function (number) {
      var spec = objects[number].text;
      if (!/\/EF\b/.test(spec) || fileSpecName(spec) !== CREDENTIAL_FILE) return;
      var file = /\/EF\s*<<[^>]*?\/(?:UF|F)\s+(\d+)\s+\d+\s+R/.exec(spec);
      if (file && objects[file[1]] && objects[file[1]].data && !seen[file[1]]) {
        seen[file[1]] = true;
        found.push(objects[file[1]]);
      }
    });
    var contents = [];
    for (var i = 0; i < found.length; i++) {
      contents.push(await streamContent(found[i], MAX_CREDENTIAL_BYTES));
    }
    var distinct = [];
    contents.forEach(function (content) {
      if (!distinct.some(function (known) { return sameBytes(known, content); })) distinct.push(content);
    });
    return distinct;
  }

  // The name a file specification gives (/UF, else /F), from a literal or a hex string.
  function fileSpecName(spec) {
    var names = {}, re = /\/(UF|F)\s*(\((?:[^()\\]|\\[\s\S])*\)|<[0-9A-Fa-f\s]*>)/g, m;
    while ((m = re.exec(spec)) !== null) names[m[1]] = pdfString(m[2]);
    return "UF" in names ? names.UF : names.F;
  }

  function pdfString(written) {
    var raw = written.charAt(0) === "(" ? pdfLiteral(written.slice(1, -1))
      : (written.slice(1, -1).replace(/\s+/g, "").match(/../g) || []).map(function (hex) {
        return String.fromCharCode(parseInt(hex, 16));
      }).join("");
    if (raw.charCodeAt(0) === 0xfe && raw.charCodeAt(1) === 0xff) {  // UTF-16BE, with its mark
      var text = "";
      for (var i = 2; i + 1 < raw.length; i += 2) text += String.fromCharCode(raw.charCodeAt(i) * 256 + raw.charCodeAt(i + 1));
      return text;
    }
    return raw;
  }

  function sameBytes(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }

  function canonicalJson(value) {
    // Keys sorted at every level: the same JSON whatever its formatting and key order.
    if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
    if (value && typeof value === "object") {
      return "{" + Object.keys(value).sort().map(function (key) {
        return JSON.stringify(key) + ":" + canonicalJson(value[key]);
      }).join(",") + "}";
    }
    return JSON.stringify(value);
  }

  async function getBytes(url) {
    var response;
    try {
      response = await fetch(url, { cache: "no-cache" });
    } catch (err) {
      return null;
    }
    if (!response.ok) return null;
    return new Uint8Array(await response.arrayBuffer());
  }

  // What the page says of the credential a PDF carries: its ID and name, whether it is the
  // published one, and who checks its signature. `uuid` is the credential the PDF is, if known.
  async function embeddedCredentialNote(objects, uuid) {
    var contents;
    try {
      contents = await embeddedCredentials(objects);
    } catch (err) {
      return embeddedNote("bad", "The credential in this PDF cannot be read",
        ["The PDF carries a " + CREDENTIAL_FILE + " that could not be read (" + (err.message || err) + "). Do not rely on it."]);
    }
    if (contents.length === 0) return null;
    if (contents.length > 1) {
      return embeddedNote("bad", "This PDF carries two different credentials",
        ["A certificate of ours carries exactly one " + CREDENTIAL_FILE + ". Do not rely on this file."]);
    }
    var carried = contents[0], document_ = null;
    try {
      document_ = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(carried));
    } catch (err) {
      document_ = null;
    }
    if (!document_ || typeof document_ !== "object" || Array.isArray(document_)) {
      return embeddedNote("bad", "The credential in this PDF is not valid JSON",
        ["A certificate of ours carries its verifiable credential as a JSON object. Do not rely on this file."]);
    }
    var id = typeof document_.id === "string" ? document_.id : "";
    var named = /credentials\/([0-9a-f]{32})\/credential\.json$/.exec(id);
    var carriedId = named ? named[1] : null;
    var subject = document_.credentialSubject && typeof document_.credentialSubject === "object" ? document_.credentialSubject : {};
    var dl = el("dl", { "class": "details details--compact" });
    function row(label, value, attrs) {
      if (value) dl.appendChild(el("div", {}, [el("dt", { text: label }), el("dd", attrs || {}, [value])]));
    }
    row("Credential", typeof document_.name === "string" ? document_.name : "");
    if (typeof subject.name === "string" && subject.name) {
      row("Awarded to", el("bdi", { text: subject.name }), { dir: "auto" });
    }
    row("Credential ID", el("code", { "class": "break", text: carriedId || id || "none" }));
    var checkUuid = carriedId || uuid;
    var published = checkUuid ? await getBytes(sitePath(LAYOUT.credentialJson, { uuid: checkUuid })) : null;
    var tone, heading, lines = [];
    if (uuid && carriedId !== uuid) {
      tone = "bad";
      heading = "The credential in this PDF is another one";
      lines.push("The PDF is certificate " + uuid + ", but the credential it carries is " + (carriedId || "not one of ours") + ". Do not rely on it.");
    } else if (!published) {
      tone = "bad";
      heading = "The credential in this PDF is not published";
      lines.push("We publish no " + CREDENTIAL_FILE + " for this credential, so the one in the PDF cannot be compared. Do not rely on it.");
    } else if (sameBytes(published, carried)) {
      tone = "good";
      heading = "The PDF carries its verifiable credential";
      lines.push("Its " + CREDENTIAL_FILE + " is identical, byte for byte, to the one we publish.");
    } else {
      var same = false;
      try {
        same = canonicalJson(JSON.parse(new TextDecoder().decode(published))) === canonicalJson(document_);
      } catch (err) {
        same = false;
      }
      tone = same ? "good" : "bad";
      heading = same ? "The PDF carries its verifiable credential"
        : "The credential in this PDF differs from the one we publish";
      lines.push(same ? "Its " + CREDENTIAL_FILE + " says the same as the one we publish (formatted differently)."
        : "Its " + CREDENTIAL_FILE + " is not the one we publish for this credential: it may have been altered. Do not rely on it.");
    }
    var link = checkUuid ? el("a", { href: sitePath(LAYOUT.credentialJson, { uuid: checkUuid }) }, ["the published " + CREDENTIAL_FILE]) : null;
    var hint = el("p", { "class": "embedded-credential__hint" }, [
      "This page compares the file; it does not check its digital signature. A digital wallet, or ",
      el("code", { text: "sitegen verify certificate.pdf" }), ", checks that too" + (link ? "; see " : "."),
      link, link ? "." : null
    ]);
    return embeddedNote(tone, heading, lines, dl, hint);
  }

  function embeddedNote(tone, heading, lines, details, hint) {
    var box = el("section", { "class": "embedded-credential embedded-credential--" + tone });
    box.appendChild(el("h4", { "class": "embedded-credential__heading", text: heading }));
    lines.forEach(function (line) { box.appendChild(el("p", { text: line })); });
    if (details) box.appendChild(details);
    if (hint) box.appendChild(hint);
    return box;
  }

  // -- the PDF's verdict ------------------------------------------------------------------

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
      var objects = await pdfObjects(bytes, text);
      var claimed = claimedId(text + "\n" + packedText(objects));
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
      var carried = await embeddedCredentialNote(objects, uuid);
      if (carried) details.appendChild(carried);
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
