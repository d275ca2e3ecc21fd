# Asciidoctor extensions for memprof's pages (git's Documentation/asciidoctor-extensions.rb
# is the model), loaded by `make man` with asciidoctor -r:
#
#   linkmemprof:memprof-record[1]   a link to another page: in a man page its name in
#                                   bold with the section, memprof-record(1), as man
#                                   pages cite one another; in HTML a link to its page
#
# and no typographic replacements: the pages are about command lines, where `--` must
# stay two hyphens (not an em dash), `...` three dots and `->` an arrow of two
# characters, in the SYNOPSIS (which t0540-help compares with --help) as everywhere.
require 'asciidoctor'
require 'asciidoctor/extensions'

module Memprof
  class LinkMacro < Asciidoctor::Extensions::InlineMacroProcessor
    use_dsl
    named :linkmemprof
    name_positional_attributes 'volnum'

    def process(parent, target, attrs)
      text = "#{target}(#{attrs['volnum']})"
      if parent.document.basebackend? 'html'
        create_anchor parent, text, type: :link, target: "#{target}.html"
      else
        create_inline parent, :quoted, text, type: :strong
      end
    end
  end

  class NoReplacements < Asciidoctor::Extensions::Treeprocessor
    def process(document)
      strip(document)
      nil
    end

    # Some nodes share a frozen list of substitutions: theirs is replaced, not edited.
    def nosub(node)
      return unless node.respond_to?(:subs) && node.subs&.include?(:replacements)

      node.instance_variable_set(:@subs, node.subs - [:replacements])
    end

    def strip(node)
      nosub(node)
      if node.context == :dlist
        node.items.each do |terms, desc|
          terms.each { |t| nosub(t) }
          if desc
            nosub(desc)
            desc.blocks.each { |b| strip(b) }
          end
        end
      elsif node.context == :table
        node.rows.to_h.values.flatten.each { |cell| nosub(cell) }
      else
        node.blocks.each { |b| strip(b) } if node.respond_to?(:blocks)
      end
    end
  end
end

Asciidoctor::Extensions.register do
  inline_macro Memprof::LinkMacro
  treeprocessor Memprof::NoReplacements
end
