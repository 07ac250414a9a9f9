import Foundation
import Testing
@testable import BrokerCrypto

/// KeyFile: written 0600, never overwritten by accident, refused when group or others have access.
@Suite("Key files")
struct KeyFileTests {
    static let contents = PEMArmor.begin(PEMArmor.privateKey) + "\nnot really a key\n" + PEMArmor.end(PEMArmor.privateKey) + "\n"

    @Test("write creates the file with mode 0600 and read returns its contents")
    func writeThenRead() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/key.pem"
            try KeyFile.write(Self.contents, to: path)
            #expect(try posixMode(path) == 0o600)
            var status = stat()
            #expect(stat(path, &status) == 0)
            #expect(status.st_mode & 0o777 == 0o600)
            #expect(status.st_mode & S_IFMT == S_IFREG)
            #expect(try KeyFile.read(path) == Self.contents)
            // No temporary file is left beside the target.
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["key.pem"])
        }
    }

    @Test("write is 0600 whatever the process umask")
    func writeIgnoresUmask() throws {
        try withTemporaryDirectory { directory in
            let previous = umask(0)
            defer { umask(previous) }
            try KeyFile.write(Self.contents, to: directory + "/key.pem")
            #expect(try posixMode(directory + "/key.pem") == 0o600)
        }
    }

    @Test("write refuses to replace an existing file without overwrite: true → keyFileExists")
    func noOverwrite() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/key.pem"
            try KeyFile.write("first", to: path)
            expectCryptoError(.keyFileExists) { try KeyFile.write("second", to: path) }
            #expect(try KeyFile.read(path) == "first")
            try KeyFile.write("second", to: path, overwrite: true)
            #expect(try KeyFile.read(path) == "second")
        }
    }

    @Test("overwrite replaces a wide-open file with a 0600 one")
    func overwriteTightensMode() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/key.pem"
            try writeFile(path, Array("old".utf8), mode: 0o644)
            try KeyFile.write("new", to: path, overwrite: true)
            #expect(try posixMode(path) == 0o600)
            #expect(try KeyFile.read(path) == "new")
        }
    }

    @Test("read refuses files that group or others can access → insecureKeyFile",
          arguments: [0o644, 0o640, 0o604, 0o660, 0o606, 0o610, 0o601, 0o620, 0o602, 0o666, 0o777])
    func insecureModes(mode: Int) throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/key.pem"
            try writeFile(path, Array(Self.contents.utf8), mode: mode)
            #expect(try posixMode(path) == mode)
            expectCryptoError(.insecureKeyFile, "mode \(String(mode, radix: 8))") { try KeyFile.read(path) }
        }
    }

    @Test("read accepts owner-only modes", arguments: [0o600, 0o400, 0o700, 0o500])
    func secureModes(mode: Int) throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/key.pem"
            try writeFile(path, Array(Self.contents.utf8), mode: mode)
            #expect(try KeyFile.read(path) == Self.contents)
        }
    }

    @Test("the insecure-file message names the mode and the fix, never the contents")
    func insecureMessage() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/key.pem"
            try writeFile(path, Array(Self.contents.utf8), mode: 0o644)
            do {
                _ = try KeyFile.read(path)
                Issue.record("a 0644 key file was read")
            } catch let error as CryptoError {
                #expect(error.code == .insecureKeyFile)
                #expect(error.message.contains("644"))
                #expect(error.message.contains("chmod 600"))
                #expect(!error.message.contains("not really a key"))
            }
        }
    }

    @Test("read follows a symlink and judges the file it leads to")
    func symlinks() throws {
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/private.pem", Array("private".utf8), mode: 0o600)
            try writeFile(directory + "/open.pem", Array("open".utf8), mode: 0o644)
            try FileManager.default.createSymbolicLink(atPath: directory + "/link-private", withDestinationPath: directory + "/private.pem")
            try FileManager.default.createSymbolicLink(atPath: directory + "/link-open", withDestinationPath: directory + "/open.pem")
            #expect(try KeyFile.read(directory + "/link-private") == "private")
            expectCryptoError(.insecureKeyFile) { try KeyFile.read(directory + "/link-open") }
        }
    }

    @Test("read of a missing file or a directory → io")
    func readIOErrors() throws {
        try withTemporaryDirectory { directory in
            expectCryptoError(.io) { try KeyFile.read(directory + "/missing.pem") }
            try FileManager.default.createDirectory(atPath: directory + "/dir", withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
            expectCryptoError(.io) { try KeyFile.read(directory + "/dir") }
        }
    }

    @Test("write into a missing directory → io")
    func writeIOError() throws {
        try withTemporaryDirectory { directory in
            expectCryptoError(.io) { try KeyFile.write("x", to: directory + "/missing/key.pem") }
        }
    }

    @Test("ensurePrivateDirectory creates nested directories, the last one 0700, and is idempotent")
    func privateDirectory() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/a/b/keys"
            try KeyFile.ensurePrivateDirectory(path)
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue)
            #expect(try posixMode(path) == 0o700)
            try KeyFile.ensurePrivateDirectory(path)
            try KeyFile.write("k", to: path + "/key.pem")
            #expect(try KeyFile.read(path + "/key.pem") == "k")
        }
    }

    @Test("ensurePrivateDirectory over an existing file → io")
    func privateDirectoryOverFile() throws {
        try withTemporaryDirectory { directory in
            try writeFile(directory + "/file", [1], mode: 0o600)
            expectCryptoError(.io) { try KeyFile.ensurePrivateDirectory(directory + "/file") }
        }
    }

    @Test("a real key survives write and read")
    func realKey() throws {
        let key = try Ed25519PrivateKey.generate()
        try withTemporaryDirectory { directory in
            try KeyFile.write(try key.pem(), to: directory + "/signing.pem")
            #expect(try Ed25519PrivateKey(pem: KeyFile.read(directory + "/signing.pem")).keyID == key.keyID)
        }
    }
}
