import BrokerProtocol
import Foundation
import SCMProviders

/// Decodes request bodies into `Decodable` types, strictly: a field the type does not know is
/// refused (so a misspelt field is not silently ignored), a number is never a boolean, and
/// every error names the field's path and what was expected, never the value that was sent.
///
/// Unknown fields are detected for keyed types whose `CodingKeys` are `CaseIterable`; request
/// types declare them so. `null` counts as absent for optional fields (where PATCH must tell
/// the two apart, `JSONObjectReader` reads the body instead).
struct StrictJSONDecoder {
    /// Throws `APIError` (untyped, like `JSONObjectReader.parse`: see there why).
    func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
            throw APIError.invalidRequest("the body is not valid JSON")
        }
        return try decode(type, from: value)
    }

    func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        guard case .object = value else { throw APIError.invalidRequest("the body must be a JSON object") }
        do {
            return try T(from: ValueDecoder(value: value, codingPath: []))
        } catch let problem as Problem {
            throw APIError.invalidRequest(problem.message)
        } catch let error as DecodingError {
            // Thrown by a type's own `init(from:)` (an enum's unknown raw value, say): its
            // description may quote the value, so only the path is kept.
            throw APIError.invalidRequest("`\(Problem.path(Self.codingPath(of: error)))` has a value that is not allowed")
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.invalidRequest("the body could not be read")
        }
    }

    private static func codingPath(of error: DecodingError) -> [any CodingKey] {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context), .dataCorrupted(let context):
            context.codingPath
        @unknown default:
            []
        }
    }

    /// What was wrong, for people.
    struct Problem: Error {
        var message: String

        static func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    if !text.isEmpty { text += "." }
                    text += String(key.stringValue.prefix(64))
                }
            }
            return text.isEmpty ? "body" : text
        }

        static func missing(_ codingPath: [any CodingKey]) -> Problem {
            Problem(message: "missing field `\(path(codingPath))`")
        }

        static func unknown(_ codingPath: [any CodingKey]) -> Problem {
            Problem(message: "unknown field `\(path(codingPath))`")
        }

        static func mismatch(_ codingPath: [any CodingKey], expected: String, found: JSONValue) -> Problem {
            Problem(message: "`\(path(codingPath))` must be \(expected), not \(found.typeName)")
        }
    }
}

private struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

private typealias Problem = StrictJSONDecoder.Problem

private struct ValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else {
            throw Problem.mismatch(codingPath, expected: "an object", found: value)
        }
        if let known = Key.self as? any CaseIterable.Type {
            let names = Set(Self.keyNames(known))
            if let unknown = fields.keys.sorted().first(where: { !names.contains($0) }) {
                throw Problem.unknown(codingPath + [AnyKey(stringValue: unknown)])
            }
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(fields: fields, codingPath: codingPath))
    }

    private static func keyNames<T: CaseIterable>(_ type: T.Type) -> [String] {
        type.allCases.compactMap { ($0 as? any CodingKey)?.stringValue }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let values) = value else {
            throw Problem.mismatch(codingPath, expected: "an array", found: value)
        }
        return UnkeyedContainer(values: values, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValue(value: value, codingPath: codingPath)
    }
}

/// Reads scalars strictly; shared by the three container kinds.
private enum Scalar {
    static func decode<T: Decodable>(_ type: T.Type, _ value: JSONValue, path: [any CodingKey]) throws -> T {
        if type == String.self {
            guard case .string(let string) = value else { throw Problem.mismatch(path, expected: "a string", found: value) }
            return string as! T
        }
        if type == Bool.self {
            guard case .bool(let bool) = value else { throw Problem.mismatch(path, expected: "a boolean", found: value) }
            return bool as! T
        }
        if type == Int.self { return try integer(value, path: path) as! T }
        if type == Int64.self { return Int64(try integer(value, path: path)) as! T }
        if type == Double.self {
            switch value {
            case .integer(let number): return Double(number) as! T
            case .double(let number): return number as! T
            default: throw Problem.mismatch(path, expected: "a number", found: value)
            }
        }
        if type == Date.self {
            guard case .string(let text) = value, let date = ISO8601DateFormatter().date(from: text) else {
                throw Problem(message: "`\(Problem.path(path))` must be an ISO 8601 time")
            }
            return date as! T
        }
        if let allowed = type as? any AllowedValues.Type {
            guard case .string(let text) = value else { throw Problem.mismatch(path, expected: "a string", found: value) }
            guard allowed.allowedValues.contains(text) else {
                throw Problem(message: "`\(Problem.path(path))` must be one of \(allowed.allowedValues.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
        }
        // Other scalars (narrower integers, Float, Data…) are not read by any request type; were one
        // added, decoding it through a container would come back here forever.
        if type is any BinaryInteger.Type || type is any BinaryFloatingPoint.Type || type == Data.self {
            throw unsupported(path)
        }
        return try T(from: ValueDecoder(value: value, codingPath: path))
    }

    static func integer(_ value: JSONValue, path: [any CodingKey]) throws -> Int {
        switch value {
        case .integer(let number) where number >= Int64(Int.min) && number <= Int64(Int.max):
            return Int(number)
        case .double(let number) where number.rounded() == number && abs(number) < 9.0e15:
            return Int(number)
        default:
            throw Problem.mismatch(path, expected: "a whole number", found: value)
        }
    }

    static func unsupported(_ path: [any CodingKey]) -> Problem {
        Problem(message: "`\(Problem.path(path))` has a type this endpoint does not read")
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    private func value(_ key: Key) throws -> JSONValue {
        guard let value = fields[key.stringValue], value != .null else { throw Problem.missing(codingPath + [key]) }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        fields[key.stringValue] == nil || fields[key.stringValue] == .null
    }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try Scalar.decode(type, try value(key), path: codingPath + [key])
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try Scalar.decode(type, try value(key), path: codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try Scalar.decode(type, try value(key), path: codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try Scalar.decode(type, try value(key), path: codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try Scalar.decode(type, try value(key), path: codingPath + [key]) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try ValueDecoder(value: try value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try ValueDecoder(value: try value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        throw Scalar.unsupported(codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoder(value: try value(key), codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let values: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(values: [JSONValue], codingPath: [any CodingKey]) {
        self.values = values
        self.codingPath = codingPath
    }

    var count: Int? { values.count }
    var isAtEnd: Bool { currentIndex >= values.count }

    private var path: [any CodingKey] { codingPath + [AnyKey(intValue: currentIndex)] }

    private mutating func next() throws -> JSONValue {
        guard !isAtEnd else { throw Problem.missing(path) }
        defer { currentIndex += 1 }
        return values[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, values[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let path = self.path
        return try Scalar.decode(type, try next(), path: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let path = self.path
        return try ValueDecoder(value: try next(), codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let path = self.path
        return try ValueDecoder(value: try next(), codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let path = self.path
        return ValueDecoder(value: try next(), codingPath: path)
    }
}

private struct SingleValue: SingleValueDecodingContainer {
    let value: JSONValue
    let codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try Scalar.decode(type, value, path: codingPath)
    }

    func decode(_ type: Bool.Type) throws -> Bool { try Scalar.decode(type, value, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try Scalar.decode(type, value, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Scalar.decode(type, value, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try Scalar.decode(type, value, path: codingPath) }
}
