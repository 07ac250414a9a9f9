import BrokerCore
import SCMProviders

/// The PAT form and its outcomes.
enum PATPages {
    static func form(flow: ConnectFlow, integration: Integration, csrf: String, message: String? = nil) -> Page {
        let scm = integration.provider.displayName
        let instructions = (try? OrganizationURL.parse(integration.url, provider: integration.provider)).map(PATInstructions.instructions)
        var page = Page(
            title: "Connect with a token", heading: "Connect \(scm) for \(flow.user) with a personal access token",
            message: "Create a personal access token at \(scm) and paste it here. It is sealed at once so that only runner-side software can read it; scm-broker never stores or shows it.",
            detail: "For scm-broker user \(flow.user).")
        page.form = Page.Form(
            action: "/connect/flows/\(flow.id)/pat", csrf: csrf, error: message ?? flow.failure.map { "\($0.message) (\($0.code))" },
            instructions: instructions?.steps ?? [], tokenPageURL: instructions?.tokenPageURL, scm: scm,
            needsUsername: instructions?.needsUsername ?? false)
        return page
    }
}
