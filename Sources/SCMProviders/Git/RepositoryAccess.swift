/// What a clone grant lets an environment do with its repository.
public enum RepositoryAccess: String, Sendable, Codable, CaseIterable {
    case read, write
}
