import SCMProviders

/// Values with a fixed set of spellings. A strict decoder refuses any other spelling with the
/// list of right ones (never echoing what was sent).
public protocol AllowedValues {
    static var allowedValues: [String] { get }
}

extension AllowedValues where Self: CaseIterable & RawRepresentable, RawValue == String {
    public static var allowedValues: [String] { allCases.map(\.rawValue) }
}

extension JobKind: AllowedValues {}
extension JobOutcomeName: AllowedValues {}
extension JobReportReceipt.Status: AllowedValues {}
extension CredentialMode: AllowedValues {}
extension CredentialKind: AllowedValues {}
extension EnvironmentGrant.Status: AllowedValues {}
extension RefreshAnswer.Status: AllowedValues {}
extension RefreshReport.OutcomeName: AllowedValues {}
extension SCMProvider: AllowedValues {}
extension OAuthFlavor: AllowedValues {}
extension RepositoryAccess: AllowedValues {}
