/// Who the user is at the SCM.
public struct SCMIdentity: Sendable, Equatable, Codable {
    /// The SCM's stable id for the account (Azure DevOps identity GUID, GitHub/GitLab numeric
    /// id as text, Bitbucket account id): names change, ids do not.
    public var id: String
    /// The sign-in name (Azure DevOps: the account's e-mail-like name when known).
    public var username: String
    public var displayName: String?

    public init(id: String, username: String, displayName: String? = nil) {
        self.id = id
        self.username = username
        self.displayName = displayName
    }
}
