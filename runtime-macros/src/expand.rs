//! Expansion of `#[runtime::main]` and `#[runtime::test]`: validation of the
//! annotated function and generation of the synchronous wrapper that builds a
//! runtime and blocks on the original body.
//!
//! When anything is wrong the expansion still emits a stub of the function
//! (no `async`, no arguments, body `unimplemented!()`) next to the errors, so
//! the only diagnostics the user sees are the ones this crate reports rather
//! than follow-on errors such as "`main` function not found".

use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::{Attribute, ItemFn, ReturnType, Type};

use crate::options::{self, Errors, Flavor, MacroKind, Options};

/// Expands one attribute invocation. Never fails: errors become
/// `compile_error!` invocations in the returned tokens.
pub(crate) fn expand(kind: MacroKind, args: TokenStream, item: TokenStream) -> TokenStream {
    let input: ItemFn = match syn::parse2(item.clone()) {
        Ok(input) => input,
        // Not a function at all: hand the item back untouched so that the
        // only new diagnostic is ours.
        Err(error) => {
            let mut tokens = error.to_compile_error();
            tokens.extend(item);
            return tokens;
        }
    };

    let mut fn_errors = Errors::default();
    validate(&input, kind, &mut fn_errors);

    let error = match (options::parse(args, kind), fn_errors.finish()) {
        (Ok(options), Ok(())) => return generate(input, kind, options),
        (Err(mut error), Err(more)) => {
            error.combine(more);
            error
        }
        (Err(error), Ok(())) | (Ok(_), Err(error)) => error,
    };
    let mut tokens = error.to_compile_error();
    tokens.extend(stub(input));
    tokens
}

/// Checks the function itself, pushing one error per problem.
fn validate(input: &ItemFn, kind: MacroKind, errors: &mut Errors) {
    let sig = &input.sig;
    if sig.asyncness.is_none() {
        errors.push(syn::Error::new_spanned(
            sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        ));
    }
    if !sig.inputs.is_empty() {
        let message = match kind {
            MacroKind::Main => "the main function cannot accept arguments",
            MacroKind::Test => "the test function cannot accept arguments",
        };
        errors.push(syn::Error::new_spanned(&sig.inputs, message));
    }
    if kind == MacroKind::Test {
        for attr in &input.attrs {
            if let Some(message) = duplicate_test_attribute(attr) {
                errors.push(syn::Error::new_spanned(attr, message));
            }
        }
    }
}

/// If `attr` already registers the function as a test, the message to
/// report for it.
fn duplicate_test_attribute(attr: &Attribute) -> Option<&'static str> {
    let segments: Vec<String> = attr
        .path()
        .segments
        .iter()
        .map(|segment| segment.ident.to_string())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["test"] | ["core" | "std", "prelude", _, "test"] => Some(
            "the function already has a `#[test]` attribute; remove it, \
             `#[runtime::test]` registers the function as a test itself",
        ),
        ["runtime", "test"] => Some("`#[runtime::test]` is applied more than once"),
        _ => None,
    }
}

/// The successful expansion.
fn generate(input: ItemFn, kind: MacroKind, options: Options) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        mut sig,
        block,
    } = input;
    sig.asyncness = None;

    let body = Ident::new("body", Span::mixed_site());
    let rt = Ident::new("rt", Span::mixed_site());

    // Spanning the generated async block and its coercion on the original
    // body makes type errors about the body's value point at the body.
    let body_span = block.brace_token.span.join();
    let async_move = quote_spanned!(body_span=> async move);

    // Coercing the body to `dyn Future<Output = R>` tells inference what the
    // async block returns, which `?` and `return` inside it rely on.
    let pin_body = match &sig.output {
        ReturnType::Default => quote_spanned! {body_span=>
            let #body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = ()>> =
                ::core::pin::pin!(#body);
        },
        // `impl Trait` cannot appear in a `let` type; leave inference alone.
        ReturnType::Type(_, ty) if matches!(**ty, Type::ImplTrait(_)) => quote! {
            let #body = ::core::pin::pin!(#body);
        },
        ReturnType::Type(_, ty) => quote_spanned! {body_span=>
            let #body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #ty>> =
                ::core::pin::pin!(#body);
        },
    };

    let builder = match options.flavor {
        Flavor::CurrentThread => quote!(::runtime::Builder::new_current_thread()),
        Flavor::MultiThread => quote!(::runtime::Builder::new_multi_thread()),
    };
    let worker_threads = options.worker_threads.map(|n| quote!(.worker_threads(#n)));
    let start_paused = options.start_paused.then(|| quote!(.start_paused(true)));
    let expect = format!("failed to build the runtime for {}", kind.attribute_name());

    let test_attr = match kind {
        MacroKind::Main => None,
        MacroKind::Test => Some(quote!(#[::core::prelude::v1::test])),
    };

    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig {
            let #body = #async_move #block;
            #pin_body
            #[allow(clippy::expect_used)]
            let #rt = #builder #worker_threads .enable_all() #start_paused .build().expect(#expect);
            #rt.block_on(#body)
        }
    }
}

/// A synchronous stand-in for a function the macro rejected. Test
/// attributes are dropped so that a repeated `#[runtime::test]` does not
/// expand again and report the same problems twice.
fn stub(input: ItemFn) -> TokenStream {
    let ItemFn {
        mut attrs,
        vis,
        mut sig,
        block: _,
    } = input;
    attrs.retain(|attr| duplicate_test_attribute(attr).is_none());
    sig.asyncness = None;
    sig.inputs.clear();
    sig.variadic = None;
    let mut tokens = quote! {
        #(#attrs)*
        #[allow(dead_code)]
    };
    vis.to_tokens(&mut tokens);
    sig.to_tokens(&mut tokens);
    tokens.extend(quote!({ ::core::unimplemented!() }));
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_str(kind: MacroKind, args: TokenStream, item: TokenStream) -> String {
        expand(kind, args, item).to_string()
    }

    #[test]
    fn main_defaults_to_multi_thread() {
        let out = expand_str(
            MacroKind::Main,
            quote!(),
            quote!(
                async fn main() {}
            ),
        );
        assert!(out.contains("new_multi_thread"), "{out}");
        assert!(!out.contains("worker_threads"), "{out}");
        assert!(!out.contains("async fn"), "{out}");
        assert!(!out.contains("test"), "{out}");
    }

    #[test]
    fn test_defaults_to_current_thread_and_adds_test_attribute() {
        let out = expand_str(
            MacroKind::Test,
            quote!(),
            quote!(
                #[should_panic]
                async fn t() {}
            ),
        );
        assert!(out.contains("new_current_thread"), "{out}");
        let test = out.find(":: core :: prelude :: v1 :: test").unwrap();
        let should_panic = out.find("should_panic").unwrap();
        assert!(test < should_panic, "{out}");
    }

    #[test]
    fn worker_threads_is_forwarded() {
        let out = expand_str(
            MacroKind::Main,
            quote!(worker_threads = 2),
            quote!(
                async fn main() {}
            ),
        );
        assert!(out.contains(". worker_threads (2usize)"), "{out}");
    }

    #[test]
    fn return_type_annotates_the_future() {
        let out = expand_str(
            MacroKind::Main,
            quote!(),
            quote!(
                async fn main() -> Result<(), String> {
                    Ok(())
                }
            ),
        );
        assert!(out.contains("Output = Result < () , String >"), "{out}");
    }

    #[test]
    fn errors_come_with_a_stub() {
        let out = expand_str(
            MacroKind::Main,
            quote!(),
            quote!(
                fn main(x: u8) {}
            ),
        );
        assert!(out.contains("compile_error"), "{out}");
        assert!(
            out.contains("fn main () { :: core :: unimplemented ! () }"),
            "{out}"
        );
    }

    #[test]
    fn duplicate_test_attributes_are_detected() {
        for attr in [
            quote!(#[test]),
            quote!(#[::core::prelude::v1::test]),
            quote!(#[std::prelude::rust_2021::test]),
            quote!(#[runtime::test]),
        ] {
            let out = expand_str(MacroKind::Test, quote!(), quote!(#attr async fn t() {}));
            assert!(out.contains("compile_error"), "{out}");
        }
        let out = expand_str(
            MacroKind::Test,
            quote!(),
            quote!(
                #[ignore]
                async fn t() {}
            ),
        );
        assert!(!out.contains("compile_error"), "{out}");
    }
}
