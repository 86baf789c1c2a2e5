//! `terraform-provider-localfile`: a small, real provider built on tfplug.
//! It manages files on the local disk (`localfile_file`), reads them
//! (`data.localfile_file`), parses permission strings
//! (`provider::localfile::mode_bits`) and appends lines on demand
//! (`action.localfile_append`). The tfplug tests drive it with a real Terraform.
//!
//! Files are written to a temporary file beside the target, fsynced, and
//! renamed into place, so a crash never leaves a half-written file.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tfplug::{
    action,
    action::{Action, ActionEntry, InvokeRequest},
    async_trait, data_source,
    data_source::{DataReadRequest, DataReadResponse, DataSource, DataSourceEntry},
    diag::{AttributePath, Diagnostic, Diagnostics},
    function,
    function::{
        Function, FunctionCall, FunctionDefinition, FunctionEntry, FunctionError, Parameter,
    },
    provider::{ConfigureRequest, ConfigureResponse, Provider},
    resource,
    resource::{
        CreateRequest, CreateResponse, DeleteRequest, DeleteResponse, GenerateConfig, Identity,
        IdentityAttribute, IdentitySchema, ImportRequest, ImportResponse, ImportState, List,
        ListRequest, ListResponse, Listed, ReadRequest, ReadResponse, Resource, ResourceEntry,
        UpdateRequest, UpdateResponse, ValidateConfig, ValidateRequest,
    },
    schema::{Attribute, Schema, WriteOnlyFallback},
    validators,
    value::{Field, Type},
};

/// The registry address Terraform knows this provider by.
const ADDRESS: &str = "registry.terraform.io/tfplug/localfile";

fn main() {
    std::process::exit(tfplug::serve::serve_main(LocalFile, ADDRESS));
}

struct LocalFile;

/// The `provider "localfile"` block.
#[derive(Deserialize)]
struct ProviderConfig {
    /// Directory that relative paths are resolved against.
    root: Option<String>,
}

/// What every operation receives as `req.client`.
struct Client {
    root: PathBuf,
}

impl Client {
    fn resolve(&self, path: &str) -> PathBuf {
        self.root.join(path)
    }
}

#[async_trait]
impl Provider for LocalFile {
    type Config = ProviderConfig;
    type Client = Client;

    fn schema(&self) -> Schema {
        Schema::new().attribute(Attribute::optional("root", Type::String).description(
            "Directory relative paths are resolved against; default: the working directory.",
        ))
    }

    async fn configure(
        &self,
        req: ConfigureRequest<ProviderConfig>,
    ) -> Result<ConfigureResponse<Client>, Diagnostics> {
        let root = PathBuf::from(req.config.root.unwrap_or_else(|| ".".to_owned()));
        if !root.is_dir() {
            return Err(Diagnostic::error(
                "Root Directory Not Found",
                format!(
                    "The provider root {} is not a directory; create it or fix `root`.",
                    root.display()
                ),
            )
            .at(AttributePath::root("root"))
            .into());
        }
        Ok(ConfigureResponse::new(Client { root }))
    }

    fn resources(&self) -> Vec<ResourceEntry<Client>> {
        vec![resource::register(FileResource)
            .with_import()
            .with_validation()
            .with_list()
            .with_generated_config()
            .into()]
    }

    fn data_sources(&self) -> Vec<DataSourceEntry<Client>> {
        vec![data_source::register(FileData).into()]
    }

    fn functions(&self) -> Vec<FunctionEntry> {
        vec![function::register(ModeBits)]
    }

    fn actions(&self) -> Vec<ActionEntry<Client>> {
        vec![action::register(AppendAction)]
    }
}

// ---- localfile_file resource ----

struct FileResource;

/// The state of `localfile_file`; its fields are the schema's attributes.
#[derive(Serialize, Deserialize)]
struct FileState {
    path: String,
    content: Option<String>,
    content_wo: Option<String>,
    permissions: Option<String>,
    id: Option<String>,
    size: Option<u64>,
}

/// Private state marker: the file was written from `content_wo`, so
/// `read` must not copy the file's content into the state.
const WRITTEN_WRITE_ONLY: &[u8] = b"content_wo";

fn io_error(action: &str, path: &Path, e: std::io::Error) -> Diagnostics {
    Diagnostic::error(
        format!("Cannot {action} File"),
        format!(
            "{action} {} failed: {e}. Check the path and its permissions.",
            path.display()
        ),
    )
    .at(AttributePath::root("path"))
    .into()
}

fn parse_mode(text: &str) -> Result<u32, String> {
    u32::from_str_radix(text, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{text:?}"))
}

/// Writes `bytes` atomically: temp file, fsync, rename, fsync the directory.
fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<u64> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(bytes.len() as u64)
}

impl FileResource {
    fn write(
        &self,
        client: &Client,
        config: &FileState,
        planned: FileState,
    ) -> Result<CreateResponse<FileState>, Diagnostics> {
        let path = client.resolve(&planned.path);
        let (text, private) = match &config.content_wo {
            Some(secret) => (secret.as_str(), WRITTEN_WRITE_ONLY.to_vec()),
            None => (planned.content.as_deref().unwrap_or(""), Vec::new()),
        };
        let mode_text = planned
            .permissions
            .clone()
            .unwrap_or_else(|| "0644".to_owned());
        let mode = parse_mode(&mode_text)
            .map_err(|m| Diagnostics::from(Diagnostic::error("Invalid Permissions", m)))?;
        let size =
            write_file(&path, text.as_bytes(), mode).map_err(|e| io_error("Write", &path, e))?;
        let state = FileState {
            id: Some(planned.path.clone()),
            size: Some(size),
            ..planned
        };
        Ok(CreateResponse::new(state).with_private(private))
    }
}

#[async_trait]
impl Resource<Client> for FileResource {
    type State = FileState;

    fn type_name(&self) -> &str {
        "localfile_file"
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("A file on the local disk.")
            .attribute(
                Attribute::required("path", Type::String)
                    .requires_replace()
                    .description("Path of the file."),
            )
            .attribute(
                Attribute::optional("content", Type::String)
                    .default("")
                    .description("Text to write."),
            )
            .attribute(
                Attribute::optional("content_wo", Type::String)
                    .write_only(WriteOnlyFallback::Reject)
                    .description("Text to write that never enters the state (Terraform 1.11+)."),
            )
            .attribute(
                Attribute::optional("permissions", Type::String)
                    .default("0644")
                    .validator(validators::custom("an octal mode like \"0640\"", |v| {
                        v.as_str().map(parse_mode).unwrap_or(Ok(0)).map(drop)
                    })),
            )
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(Attribute::computed("size", Type::Number).description("Size in bytes."))
    }

    async fn create(
        &self,
        req: CreateRequest<'_, Client, FileState>,
    ) -> Result<CreateResponse<FileState>, Diagnostics> {
        self.write(req.client, &req.config, req.planned)
    }

    async fn read(
        &self,
        req: ReadRequest<'_, Client, FileState>,
    ) -> Result<ReadResponse<FileState>, Diagnostics> {
        let keep_content = req.private == WRITTEN_WRITE_ONLY;
        match observe(req.client, req.state, keep_content)? {
            Some(state) => Ok(ReadResponse::found(state).with_private(req.private)),
            None => Ok(ReadResponse::gone()),
        }
    }

    async fn update(
        &self,
        req: UpdateRequest<'_, Client, FileState>,
    ) -> Result<UpdateResponse<FileState>, Diagnostics> {
        self.write(req.client, &req.config, req.planned)
    }

    async fn delete(
        &self,
        req: DeleteRequest<'_, Client, FileState>,
    ) -> Result<DeleteResponse, Diagnostics> {
        let path = req.client.resolve(&req.prior.path);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(DeleteResponse::new()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(DeleteResponse::new()),
            Err(e) => Err(io_error("Delete", &path, e)),
        }
    }
}

/// `state` with what the file on disk says; `None` when there is no file.
/// `keep_content` leaves `content` as it is (a file written from `content_wo`).
fn observe(
    client: &Client,
    mut state: FileState,
    keep_content: bool,
) -> Result<Option<FileState>, Diagnostics> {
    let path = client.resolve(&state.path);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("Read", &path, e)),
    };
    let meta = std::fs::metadata(&path).map_err(|e| io_error("Read", &path, e))?;
    if !keep_content {
        state.content = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    state.permissions = Some(format!("{:04o}", meta.permissions().mode() & 0o777));
    state.size = Some(bytes.len() as u64);
    state.id = Some(state.path.clone());
    Ok(Some(state))
}

impl FileState {
    /// The state an import of `path` starts from; `read` fills in the rest.
    fn imported(path: String) -> FileState {
        FileState {
            id: Some(path.clone()),
            path,
            content: None,
            content_wo: None,
            permissions: None,
            size: None,
        }
    }
}

impl Identity<Client> for FileResource {
    /// A file is named by its path, as the import id is.
    fn identity_schema(&self) -> IdentitySchema {
        IdentitySchema::new().attribute(
            IdentityAttribute::required("path", Type::String)
                .description("Path of the file, relative to the provider root."),
        )
    }
}

/// The `config` block of `list "localfile_file"`.
#[derive(Deserialize)]
struct ListConfig {
    /// Only files whose name ends with it.
    suffix: Option<String>,
}

#[async_trait]
impl List<Client> for FileResource {
    type Config = ListConfig;

    fn list_schema(&self) -> Schema {
        Schema::new().attribute(
            Attribute::optional("suffix", Type::String)
                .description("Only files whose name ends with this suffix."),
        )
    }

    /// The regular files directly in the provider root, sorted by name; a
    /// warning for each other entry the filter selects (a directory, a
    /// symlink), which no `localfile_file` could adopt.
    async fn list(
        &self,
        req: ListRequest<'_, Client, ListConfig>,
    ) -> Result<ListResponse<FileState>, Diagnostics> {
        let root = &req.client.root;
        let entries = std::fs::read_dir(root).map_err(|e| io_error("List", root, e))?;
        let suffix = req.config.suffix.unwrap_or_default();
        let mut names = Vec::new();
        let mut warnings = Diagnostics::new();
        for entry in entries.filter_map(Result::ok) {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !name.ends_with(&suffix) {
                continue;
            }
            if entry.file_type().is_ok_and(|t| t.is_file()) {
                names.push(name);
            } else {
                warnings.warning(
                    "Not A Regular File",
                    format!(
                        "{name} in {} is not a regular file, so it is not listed: a localfile_file is a regular file.",
                        root.display()
                    ),
                );
            }
        }
        names.sort();
        let mut listed = Vec::new();
        for name in names.into_iter().take(req.limit) {
            if let Some(state) = observe(req.client, FileState::imported(name.clone()), false)? {
                listed.push(Listed::new(name, state));
            }
        }
        Ok(ListResponse::new(listed).with_warnings(warnings))
    }
}

/// The generated configuration keeps path, content and permissions.
impl GenerateConfig<Client> for FileResource {}

#[async_trait]
impl ImportState<Client> for FileResource {
    /// The import id is the path; `read` fills in the rest.
    async fn import(
        &self,
        req: ImportRequest<'_, Client>,
    ) -> Result<ImportResponse<FileState>, Diagnostics> {
        Ok(ImportResponse::new(FileState::imported(req.id)))
    }
}

#[async_trait]
impl ValidateConfig<Client> for FileResource {
    type Config = FileContent;

    async fn validate(&self, req: ValidateRequest<FileContent>) -> Diagnostics {
        let mut diags = Diagnostics::new();
        // Unknown counts as set: it will be set at apply.
        if !req.config.content_wo.is_null() && !req.config.content.is_null() {
            diags.attribute_error(
                AttributePath::root("content_wo"),
                "Conflicting Attributes",
                "Set either content or content_wo, not both.",
            );
        }
        diags
    }
}

/// The attributes validation looks at; the others are ignored.
#[derive(Default, Deserialize)]
#[serde(default)] // an absent attribute is null
struct FileContent {
    content: Field<String>,
    content_wo: Field<String>,
}

// ---- localfile_file data source ----

struct FileData;

/// Arguments and results of `data.localfile_file`.
#[derive(Serialize, Deserialize)]
struct FileDataState {
    path: String,
    content: Option<String>,
    size: Option<u64>,
}

#[async_trait]
impl DataSource<Client> for FileData {
    type State = FileDataState;

    fn type_name(&self) -> &str {
        "localfile_file"
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description("Reads a file on the local disk.")
            .attribute(Attribute::required("path", Type::String))
            .attribute(Attribute::computed("content", Type::String))
            .attribute(Attribute::computed("size", Type::Number))
    }

    async fn read(
        &self,
        req: DataReadRequest<'_, Client, FileDataState>,
    ) -> Result<DataReadResponse<FileDataState>, Diagnostics> {
        let path = req.client.resolve(&req.config.path);
        let bytes = std::fs::read(&path).map_err(|e| io_error("Read", &path, e))?;
        Ok(DataReadResponse::new(FileDataState {
            size: Some(bytes.len() as u64),
            content: Some(String::from_utf8_lossy(&bytes).into_owned()),
            path: req.config.path,
        }))
    }
}

// ---- provider::localfile::mode_bits function ----

struct ModeBits;

#[async_trait]
impl Function for ModeBits {
    type Return = u32;

    fn name(&self) -> &str {
        "mode_bits"
    }

    fn definition(&self) -> FunctionDefinition {
        FunctionDefinition::returns(Type::Number)
            .summary("The permission bits of an octal mode string")
            .markdown_description(
                "`mode_bits(\"0644\")` is 420, as `localfile_file` reads `permissions`.",
            )
            .parameter(
                Parameter::new("permissions", Type::String)
                    .markdown_description("An octal mode, e.g. `0644`."),
            )
    }

    async fn call(&self, call: FunctionCall) -> Result<u32, FunctionError> {
        let text: String = call.argument(0)?;
        parse_mode(&text).map_err(|bad| {
            FunctionError::argument(0, format!("{bad} is not an octal mode up to 0777"))
        })
    }
}

// ---- localfile_append action ----

struct AppendAction;

/// The `config` block of `action "localfile_append"`.
#[derive(Deserialize)]
struct AppendConfig {
    path: String,
    line: String,
}

#[async_trait]
impl Action<Client> for AppendAction {
    type Config = AppendConfig;

    fn type_name(&self) -> &str {
        "localfile_append"
    }

    fn schema(&self) -> Schema {
        Schema::new()
            .description(
                "Appends a line to a file, creating it if needed; the file is not managed.",
            )
            .attribute(Attribute::required("path", Type::String))
            .attribute(
                Attribute::required("line", Type::String).validator(validators::custom(
                    "one line, without a newline",
                    |v| match v.as_str() {
                        Some(text) if text.contains('\n') => Err(format!("{text:?}")),
                        _ => Ok(()),
                    },
                )),
            )
    }

    async fn invoke(
        &self,
        req: InvokeRequest<'_, Client, AppendConfig>,
    ) -> Result<Diagnostics, Diagnostics> {
        let path = req.client.resolve(&req.config.path);
        req.progress
            .report(format!("appending to {}", path.display()));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| io_error("Open", &path, e))?;
        writeln!(file, "{}", req.config.line)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error("Append To", &path, e))?;
        req.progress
            .report(format!("appended to {}", path.display()));
        Ok(Diagnostics::new())
    }
}
