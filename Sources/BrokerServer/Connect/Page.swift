import BrokerCrypto
import BrokerProtocol
import Foundation
import Hummingbird
import Mustache
import NIOCore

/// A browser page. Rendered with Mustache (every value HTML-escaped), served with headers
/// that keep it out of caches, frames and referrers: callback URLs carry authorization codes.
struct Page: Sendable {
    struct Action: Sendable {
        var label: String
        var href: String
        var secondary = false
        /// Rendered as a form button that posts to `href` (same origin, so SameSite cookies go along).
        var post = false
    }

    var status: HTTPResponse.Status = .ok
    var title: String
    var heading: String
    var message: String
    var detail: String?
    var actions: [Action] = []
    /// While a flow is pending: the flow's URL, polled by the page's script (and refreshed
    /// without script), and shown in the address bar instead of the callback URL.
    var pollURL: String?
    var waitingForRunner = false
    var form: Form?

    /// The PAT form: instructions, a deep link to the SCM's token page, and the fields.
    struct Form: Sendable {
        var action: String
        var csrf: String
        var error: String?
        var instructions: [String]
        var tokenPageURL: String?
        var scm: String
        var needsUsername: Bool
    }

    func response() -> Response {
        let nonce = SecureRandom.token(bytes: 16)
        var context: [String: Any] = [
            "title": title, "heading": heading, "message": message, "nonce": nonce,
            "actions": actions.map { ["label": $0.label, "href": $0.href, "style": $0.secondary ? "secondary" : "", "post": $0.post] },
        ]
        // Mustache renders a present nil as "nil": leave absent values out.
        if let detail { context["detail"] = detail }
        if let pollURL { context["poll"] = ["url": pollURL, "waiting": waitingForRunner ? "1" : "0"] }
        if let form {
            var values: [String: Any] = ["action": form.action, "csrf": form.csrf, "instructions": form.instructions, "scm": form.scm,
                                         "needsUsername": form.needsUsername]
            if let error = form.error { values["error"] = error }
            if let link = form.tokenPageURL { values["link"] = link }
            context["form"] = values
        }
        let html = Self.template.render(context)
        return Response(
            status: status,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .cacheControl: "no-store",
                .init("Referrer-Policy")!: "no-referrer",
                .init("X-Content-Type-Options")!: "nosniff",
                .init("X-Frame-Options")!: "DENY",
                .contentSecurityPolicy: "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    // The template is a constant: a failure to parse it is a programming error caught by every page test.
    // swiftlint:disable:next force_try
    static let template = try! MustacheTemplate(string: """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        {{#poll}}<noscript><meta http-equiv="refresh" content="2;url={{url}}"></noscript>{{/poll}}
        <title>{{title}} · scm-broker</title>
        <style nonce="{{nonce}}">
        body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1b1f24}
        h1{font-size:1.4rem;margin-bottom:.5rem}.muted{color:#57606a}
        form{display:inline}.button{font:inherit;cursor:pointer;display:inline-block;margin:.5rem .5rem 0 0;padding:.4rem .9rem;border:1px solid #0969da;border-radius:6px;background:#0969da;color:#fff;text-decoration:none}
        .error{color:#cf222e}input{font:inherit;padding:.3rem;width:100%;max-width:28rem}
        .button.secondary{background:#fff;color:#0969da}
        </style>
        </head>
        <body>
        <h1 id="heading">{{heading}}</h1>
        <p id="message">{{message}}</p>
        {{#detail}}<p class="muted" id="detail">{{detail}}</p>{{/detail}}
        <div id="actions">{{#actions}}{{#post}}<form method="post" action="{{href}}"><button class="button {{style}}" type="submit">{{label}}</button></form>{{/post}}{{^post}}<a class="button {{style}}" href="{{href}}">{{label}}</a>{{/post}}{{/actions}}</div>
        {{#form}}
        {{#error}}<p class="error" id="form-error" role="alert">{{error}}</p>{{/error}}
        <ol id="instructions">{{#link}}<li><a href="{{link}}" target="_blank" rel="noopener noreferrer">Open the {{scm}} token page</a>.</li>{{/link}}{{#instructions}}<li>{{.}}</li>{{/instructions}}</ol>
        <form method="post" action="{{action}}" autocomplete="off" id="pat-form">
        <input type="hidden" name="csrf" value="{{csrf}}">
        {{#needsUsername}}<p><label for="username">{{scm}} username</label><br><input id="username" name="username" type="text" required></p>{{/needsUsername}}
        <p><label for="token">Token</label><br><input id="token" name="token" type="password" required maxlength="1024" spellcheck="false"></p>
        <button class="button" type="submit">Connect</button>
        </form>
        {{/form}}
        {{#poll}}
        <p class="muted" id="poll" data-url="{{url}}" data-waiting="{{waiting}}">This page updates by itself.</p>
        <script nonce="{{nonce}}">
        (function () {
          var element = document.getElementById("poll");
          var url = element.dataset.url, waiting = element.dataset.waiting === "1";
          if (window.location.pathname !== url) { history.replaceState(null, "", url); }
          function poll() {
            fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
              .then(function (response) { return response.ok ? response.json() : null; })
              .then(function (flow) {
                if (flow && (flow.status !== "pending" || flow.waiting_for_runner !== waiting)) { window.location.replace(url); return; }
                setTimeout(poll, 1000);
              })
              .catch(function () { setTimeout(poll, 2000); });
          }
          setTimeout(poll, 1000);
        })();
        </script>
        {{/poll}}
        </body>
        </html>
        """)
}

/// A page to answer with instead of the route's result. Browser routes throw it; the
/// `ErrorPageMiddleware` renders it (or, for a client that asked for JSON, its API error).
struct PageError: Error, HTTPResponseError {
    let page: Page
    /// The code a JSON client gets instead of the page.
    let code: BrokerErrorCode

    init(_ status: HTTPResponse.Status, title: String, heading: String, message: String, actions: [Page.Action] = [],
         code: BrokerErrorCode? = nil) {
        page = Page(status: status, title: title, heading: heading, message: message, actions: actions)
        self.code = code ?? APIErrorMiddleware<BrokerRequestContext>.apiError(for: status).code
    }

    var status: HTTPResponse.Status { page.status }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        page.response()
    }

    /// What a JSON client gets instead of the page.
    var apiError: APIError { APIError(page.status, code: code, page.message) }
}
