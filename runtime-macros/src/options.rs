//! Parsing of the attribute arguments shared by `#[runtime::main]` and
//! `#[runtime::test]`: `flavor = "..."`, `worker_threads = N` and `start_paused = bool`.
//!
//! This module owns the option grammar, the defaults for each macro and
//! every diagnostic about the arguments themselves. It knows nothing about
//! the annotated function.

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Lit, Meta, Token};

/// The option names accepted inside the attribute, in the order they are
/// listed in diagnostics.
const VALID_OPTIONS: &str = "`flavor`, `worker_threads` and `start_paused`";

/// The flavor names accepted by `flavor = "..."`.
const VALID_FLAVORS: &str = "`current_thread` and `multi_thread`";

/// Which attribute macro is being expanded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MacroKind {
    /// `#[runtime::main]`.
    Main,
    /// `#[runtime::test]`.
    Test,
}

impl MacroKind {
    /// The attribute as the user writes it, for diagnostics and panics.
    pub(crate) fn attribute_name(self) -> &'static str {
        match self {
            MacroKind::Main => "#[runtime::main]",
            MacroKind::Test => "#[runtime::test]",
        }
    }

    /// The flavor used when the attribute does not set one.
    fn default_flavor(self) -> Flavor {
        match self {
            MacroKind::Main => Flavor::MultiThread,
            MacroKind::Test => Flavor::CurrentThread,
        }
    }
}

/// The scheduler the generated code builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `Builder::new_current_thread()`.
    CurrentThread,
    /// `Builder::new_multi_thread()`.
    MultiThread,
}

impl Flavor {
    fn from_name(name: &str) -> Option<Flavor> {
        match name {
            "current_thread" => Some(Flavor::CurrentThread),
            "multi_thread" => Some(Flavor::MultiThread),
            _ => None,
        }
    }
}

/// The validated arguments of one attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    /// The scheduler flavor, explicit or defaulted by [`MacroKind`].
    pub(crate) flavor: Flavor,
    /// `worker_threads = N`, only ever `Some` for the multi-thread flavor.
    pub(crate) worker_threads: Option<usize>,
    /// `start_paused = true`: the runtime's clock starts paused.
    pub(crate) start_paused: bool,
}

/// Raw values collected while walking the arguments, each with the whole
/// `name = value` pair so later checks can point at it.
#[derive(Default)]
struct Collected {
    flavor: Option<Flavor>,
    worker_threads: Option<(usize, Meta)>,
    start_paused: bool,
}

/// Parses and validates the attribute arguments for `kind`.
///
/// All problems found are reported together, combined into one
/// [`syn::Error`], each spanned on the offending tokens.
pub(crate) fn parse(args: TokenStream, kind: MacroKind) -> syn::Result<Options> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args)?;

    let mut collected = Collected::default();
    let mut errors = Errors::default();
    let mut seen_flavor = false;
    let mut seen_worker_threads = false;
    let mut seen_start_paused = false;

    for meta in &metas {
        let name = match meta.path().get_ident() {
            Some(ident) => ident.to_string(),
            None => {
                errors.push(unknown_option(meta.path()));
                continue;
            }
        };
        match name.as_str() {
            "flavor" => {
                if std::mem::replace(&mut seen_flavor, true) {
                    errors.push(duplicate(meta, &name));
                    continue;
                }
                match option_value(meta, &name).and_then(parse_flavor) {
                    Ok(flavor) => collected.flavor = Some(flavor),
                    Err(e) => errors.push(e),
                }
            }
            "worker_threads" => {
                if std::mem::replace(&mut seen_worker_threads, true) {
                    errors.push(duplicate(meta, &name));
                    continue;
                }
                match option_value(meta, &name).and_then(parse_worker_threads) {
                    Ok(n) => collected.worker_threads = Some((n, meta.clone())),
                    Err(e) => errors.push(e),
                }
            }
            "start_paused" => {
                if std::mem::replace(&mut seen_start_paused, true) {
                    errors.push(duplicate(meta, &name));
                    continue;
                }
                match option_value(meta, &name).and_then(parse_start_paused) {
                    Ok(paused) => collected.start_paused = paused,
                    Err(e) => errors.push(e),
                }
            }
            _ => errors.push(unknown_option(meta.path())),
        }
    }

    let flavor = collected.flavor.unwrap_or(kind.default_flavor());
    if let (Flavor::CurrentThread, Some((_, meta))) = (flavor, &collected.worker_threads) {
        errors.push(syn::Error::new_spanned(
            meta,
            "`worker_threads` is only valid with the multi_thread flavor",
        ));
    }

    errors.finish()?;
    Ok(Options {
        flavor,
        worker_threads: collected.worker_threads.map(|(n, _)| n),
        start_paused: collected.start_paused,
    })
}

/// Returns the `value` of a `name = value` option, or an error if the option
/// was written without a value (`flavor`, `flavor(...)`).
fn option_value<'a>(meta: &'a Meta, name: &str) -> syn::Result<&'a Expr> {
    match meta {
        Meta::NameValue(nv) => Ok(&nv.value),
        Meta::Path(_) | Meta::List(_) => Err(syn::Error::new_spanned(
            meta,
            format!("`{name}` expects a value, written as `{name} = ...`"),
        )),
    }
}

fn parse_flavor(value: &Expr) -> syn::Result<Flavor> {
    let Some(Lit::Str(lit)) = literal(value) else {
        return Err(syn::Error::new_spanned(
            value,
            format!("`flavor` expects a string literal; the valid flavors are {VALID_FLAVORS}"),
        ));
    };
    let name = lit.value();
    Flavor::from_name(&name).ok_or_else(|| {
        syn::Error::new(
            lit.span(),
            format!("unknown flavor `{name}`; the valid flavors are {VALID_FLAVORS}"),
        )
    })
}

fn parse_worker_threads(value: &Expr) -> syn::Result<usize> {
    let lit =
        match literal(value) {
            // A negative number can reach us as a single literal token.
            Some(Lit::Int(lit)) if !lit.base10_digits().starts_with('-') => lit,
            _ => return Err(syn::Error::new_spanned(
                value,
                "`worker_threads` expects a positive integer literal, e.g. `worker_threads = 4`",
            )),
        };
    let n: usize = lit
        .base10_parse()
        .map_err(|e| syn::Error::new(lit.span(), format!("invalid `worker_threads` value: {e}")))?;
    if n == 0 {
        return Err(syn::Error::new(
            lit.span(),
            "`worker_threads` must be greater than zero",
        ));
    }
    Ok(n)
}

fn parse_start_paused(value: &Expr) -> syn::Result<bool> {
    match literal(value) {
        Some(Lit::Bool(lit)) => Ok(lit.value),
        _ => Err(syn::Error::new_spanned(
            value,
            "`start_paused` expects `true` or `false`",
        )),
    }
}

/// The literal inside `value`, looking through invisible groups that
/// `macro_rules!` expansion may wrap around a `$lit:literal`.
fn literal(value: &Expr) -> Option<&Lit> {
    match value {
        Expr::Lit(expr) => Some(&expr.lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

fn unknown_option(path: &syn::Path) -> syn::Error {
    let name = quote::ToTokens::to_token_stream(path).to_string();
    let name = name.replace(' ', "");
    syn::Error::new_spanned(
        path,
        format!("unknown option `{name}`; the valid options are {VALID_OPTIONS}"),
    )
}

fn duplicate(meta: &Meta, name: &str) -> syn::Error {
    syn::Error::new_spanned(meta, format!("`{name}` is set more than once"))
}

/// Accumulates independent errors so they can all be reported at once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.0 {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(result: syn::Result<Options>) -> Vec<String> {
        match result {
            Ok(options) => panic!("expected an error, got {options:?}"),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn defaults_depend_on_the_macro() {
        let main = parse(quote!(), MacroKind::Main).unwrap();
        assert_eq!(main.flavor, Flavor::MultiThread);
        assert_eq!(main.worker_threads, None);

        let test = parse(quote!(), MacroKind::Test).unwrap();
        assert_eq!(test.flavor, Flavor::CurrentThread);
        assert_eq!(test.worker_threads, None);
    }

    #[test]
    fn explicit_flavors_and_worker_threads() {
        let options = parse(quote!(flavor = "current_thread"), MacroKind::Main).unwrap();
        assert_eq!(options.flavor, Flavor::CurrentThread);

        let options = parse(
            quote!(flavor = "multi_thread", worker_threads = 3,),
            MacroKind::Test,
        )
        .unwrap();
        assert_eq!(options.flavor, Flavor::MultiThread);
        assert_eq!(options.worker_threads, Some(3));

        let options = parse(quote!(worker_threads = 2), MacroKind::Main).unwrap();
        assert_eq!(options.worker_threads, Some(2));
    }

    #[test]
    fn unknown_option_lists_valid_options() {
        let errors = messages(parse(quote!(start_paused_clock = true), MacroKind::Test));
        assert_eq!(
            errors,
            ["unknown option `start_paused_clock`; the valid options are `flavor`, `worker_threads` and `start_paused`"]
        );
        let errors = messages(parse(quote!(a::b = 1), MacroKind::Main));
        assert_eq!(
            errors,
            ["unknown option `a::b`; the valid options are `flavor`, `worker_threads` and `start_paused`"]
        );
    }

    #[test]
    fn start_paused_takes_a_bool() {
        assert!(!parse(quote!(), MacroKind::Test).unwrap().start_paused);
        let options = parse(quote!(start_paused = true), MacroKind::Test).unwrap();
        assert!(options.start_paused);
        let options = parse(
            quote!(flavor = "multi_thread", start_paused = false),
            MacroKind::Main,
        )
        .unwrap();
        assert!(!options.start_paused);
        let errors = messages(parse(quote!(start_paused = 1), MacroKind::Test));
        assert_eq!(errors, ["`start_paused` expects `true` or `false`"]);
        let errors = messages(parse(
            quote!(start_paused = true, start_paused = true),
            MacroKind::Test,
        ));
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn bad_flavor_lists_valid_flavors() {
        let errors = messages(parse(quote!(flavor = "single"), MacroKind::Main));
        assert_eq!(
            errors,
            ["unknown flavor `single`; the valid flavors are `current_thread` and `multi_thread`"]
        );
        let errors = messages(parse(quote!(flavor = current_thread), MacroKind::Main));
        assert!(errors[0].starts_with("`flavor` expects a string literal"));
    }

    #[test]
    fn worker_threads_requires_multi_thread() {
        let expected = ["`worker_threads` is only valid with the multi_thread flavor"];
        let errors = messages(parse(quote!(worker_threads = 2), MacroKind::Test));
        assert_eq!(errors, expected);
        let errors = messages(parse(
            quote!(flavor = "current_thread", worker_threads = 2),
            MacroKind::Main,
        ));
        assert_eq!(errors, expected);
    }

    #[test]
    fn worker_threads_must_be_a_positive_integer() {
        let errors = messages(parse(quote!(worker_threads = 0), MacroKind::Main));
        assert_eq!(errors, ["`worker_threads` must be greater than zero"]);
        for args in [
            quote!(worker_threads = "4"),
            quote!(worker_threads = -1),
            quote!(worker_threads = N),
            quote!(worker_threads = 1.5),
            quote!(worker_threads = -1i32),
        ] {
            let errors = messages(parse(args, MacroKind::Main));
            assert!(
                errors[0].starts_with("`worker_threads` expects a positive integer literal"),
                "{errors:?}"
            );
        }
    }

    #[test]
    fn duplicates_are_reported() {
        let errors = messages(parse(
            quote!(flavor = "multi_thread", flavor = "current_thread"),
            MacroKind::Main,
        ));
        assert_eq!(errors, ["`flavor` is set more than once"]);
        let errors = messages(parse(
            quote!(worker_threads = 1, worker_threads = 2),
            MacroKind::Main,
        ));
        assert_eq!(errors, ["`worker_threads` is set more than once"]);
    }

    #[test]
    fn option_without_value() {
        let errors = messages(parse(quote!(flavor), MacroKind::Main));
        assert_eq!(
            errors,
            ["`flavor` expects a value, written as `flavor = ...`"]
        );
    }

    #[test]
    fn all_errors_are_combined() {
        let errors = messages(parse(
            quote!(bogus = 1, flavor = "nope", worker_threads = 0),
            MacroKind::Main,
        ));
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn malformed_arguments_are_a_parse_error() {
        assert!(parse(quote!(flavor = ), MacroKind::Main).is_err());
        assert!(parse(quote!("multi_thread"), MacroKind::Main).is_err());
    }
}
