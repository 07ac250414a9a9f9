import Foundation
import SCMProviders

/// Reads fields of one JSON object. Errors name the field path and the expected type, never
/// the value that was sent.
struct JSONObjectReader {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String = "") throws(APIError) {
        guard case .object(let fields) = value else {
            throw .invalidRequest(path.isEmpty ? "the body must be a JSON object" : "`\(path)` must be an object")
        }
        self.fields = fields
        self.path = path
    }

    /// Untyped `throws` on purpose: with `throws(APIError)`, the Swift 6.3 optimiser inlined the
    /// typed error's boxing into large async handlers (through `Request.jsonObject()`) and merged
    /// it with the `await`'s error path into IR that crashes LLVM's coroutine splitting
    /// (`IntegrationsController.update`, `swift build -c release`, signal 11 in CoroSplit). Keep
    /// typed throws out of the helpers async handlers await on.
    static func parse(_ bytes: [UInt8]) throws -> JSONObjectReader {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            throw APIError.invalidRequest("the body is not valid JSON")
        }
        return try JSONObjectReader(value)
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// Refuses fields the endpoint does not know, so a misspelt field is not silently ignored.
    func allowOnly(_ known: Set<String>) throws(APIError) {
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw .invalidRequest("unknown field `\(name(unknown).prefix(64))`")
        }
    }

    func has(_ key: String) -> Bool { fields[key] != nil }

    func isNull(_ key: String) -> Bool { fields[key] == .null }

    func string(_ key: String) throws(APIError) -> String? {
        switch fields[key] {
        case nil: return nil
        case .string(let value): return value
        case let other?: throw .invalidRequest("`\(name(key))` must be a string, not \(other.typeName)")
        }
    }

    func requiredString(_ key: String) throws(APIError) -> String {
        guard let value = try string(key) else { throw .invalidRequest("missing field `\(name(key))`") }
        return value
    }

    func bool(_ key: String) throws(APIError) -> Bool? {
        switch fields[key] {
        case nil: return nil
        case .bool(let value): return value
        case let other?: throw .invalidRequest("`\(name(key))` must be a boolean, not \(other.typeName)")
        }
    }

    func stringArray(_ key: String) throws(APIError) -> [String]? {
        switch fields[key] {
        case nil: return nil
        case .array(let values):
            var strings: [String] = []
            for value in values {
                guard case .string(let string) = value else {
                    throw .invalidRequest("`\(name(key))` must be an array of strings")
                }
                strings.append(string)
            }
            return strings
        case let other?: throw .invalidRequest("`\(name(key))` must be an array, not \(other.typeName)")
        }
    }

    /// A whole number within `range`.
    func integer(_ key: String, in range: ClosedRange<Int>) throws(APIError) -> Int? {
        switch fields[key] {
        case nil: return nil
        case .integer(let value):
            guard value >= Int64(range.lowerBound), value <= Int64(range.upperBound) else {
                throw .invalidRequest("`\(name(key))` must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int(value)
        case .double(let value):
            guard value.rounded() == value, value >= Double(range.lowerBound), value <= Double(range.upperBound) else {
                throw .invalidRequest("`\(name(key))` must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return Int(value)
        case let other?: throw .invalidRequest("`\(name(key))` must be a number, not \(other.typeName)")
        }
    }

    func object(_ key: String) throws(APIError) -> JSONObjectReader? {
        guard let value = fields[key] else { return nil }
        return try JSONObjectReader(value, path: name(key))
    }

    func value(_ key: String) -> JSONValue? { fields[key] }

    /// The whole object, for decoding it as a type.
    var value: JSONValue { .object(fields) }
}
