import BrokerCore
import BrokerProtocol

/// The words of each connect page, by flow status and failure code.
enum ConnectPages {
    static func page(for status: ConnectController.FlowStatus, flow: ConnectFlow, integration: Integration) -> Page {
        let scm = status.provider
        let flowURL = "/connect/flows/\(flow.id)"
        let restart = Page.Action(label: "Try again", href: "\(flowURL)/restart")
        let patRoute = integration.pat.enabled
            ? [Page.Action(label: "Use a personal access token instead", href: "\(flowURL)/restart?route=pat", secondary: true)] : []
        switch status.status {
        case "connected" where flow.kind == .pat:
            let who = status.scmUser.map { $0.displayName.map { name in "\(name) (\(status.scmUser!.username))" } ?? $0.username } ?? "your account"
            return Page(title: "Connected", heading: "\(scm) is now connected", message: "Connected as \(who). You can close this window.",
                        detail: "The token is sealed for runner \(status.runner), for scm-broker user \(status.user).")
        case "connected":
            let who = status.scmUser.map { "\($0.displayName.map { "\($0) (\(status.scmUser!.username))" } ?? $0.username)" } ?? "your account"
            return Page(title: "Connected", heading: "\(scm) is now connected", message: "You can close this window.",
                        detail: "Signed in at \(scm) as \(who), for scm-broker user \(status.user).")
        case "pending" where flow.kind == .pat && !status.waitingForRunner:
            return Page(title: "Checking the token", heading: "Checking your token with \(scm)…",
                        message: "Runner \(status.runner) is checking the token with \(scm).", pollURL: flowURL)
        case "pending" where status.waitingForRunner:
            return Page(title: "Waiting for the runner", heading: "Waiting for runner \(status.runner)…",
                        message: "Your sign-in at \(scm) worked. Runner \(status.runner), which holds the keys for \(scm), has not picked up the request yet.",
                        pollURL: flowURL, waitingForRunner: true)
        case "pending":
            return Page(title: "Connecting", heading: "Connecting to \(scm)…",
                        message: "Runner \(status.runner) is finishing the sign-in with \(scm).",
                        detail: "Connecting \(scm) for scm-broker user \(status.user).", pollURL: flowURL)
        default:
            let failure = status.error ?? .init(code: "failed", message: "")
            switch failure.code {
            case "access_denied":
                return Page(title: "Access declined", heading: "You declined access",
                            message: "You declined access to \(scm), so it is not connected. If that was a mistake, try again.",
                            actions: [restart])
            case "oauth_app_blocked":
                return Page(title: "App not allowed", heading: "Your organization may not allow this app",
                            message: "\(scm) did not let this OAuth app in. Your organization may forbid third-party OAuth apps; ask an administrator of your \(scm) organization to allow it\(integration.pat.enabled ? ", or connect with a personal access token instead" : "").",
                            detail: failure.message.isEmpty ? nil : "\(scm) said: \(failure.message)",
                            actions: patRoute + [restart])
            case BrokerErrorCode.runnerOffline.rawValue:
                return Page(title: "Runner offline", heading: "Runner \(status.runner) is offline",
                            message: "Your sign-in at \(scm) worked, but runner \(status.runner) did not pick it up. Start the runner (or ask your administrator to), then retry.",
                            actions: [Page.Action(label: "Retry", href: "\(flowURL)/retry", post: true)] + patRoute)
            case BrokerErrorCode.flowExpired.rawValue:
                return Page(title: "Expired", heading: "This sign-in has expired", message: failure.message, actions: [restart])
            default:
                return Page(title: "Not connected", heading: "\(scm) is not connected",
                            message: failure.message.isEmpty ? "The sign-in did not complete (\(failure.code))." : failure.message,
                            detail: "Reason code: \(failure.code)", actions: [restart] + patRoute)
            }
        }
    }
}
